/**
 * Why a microscopy file cannot be read. The codes are the pipeline's rejection reasons, so an
 * adapter can turn this into its own rejection without guessing from the message.
 */
export type MicroscopyErrorReason = 'truncated' | 'corrupt' | 'unsupported' | 'too_large' | 'too_small';

export class MicroscopyError extends Error {
  override name = 'MicroscopyError';
  constructor(
    readonly reason: MicroscopyErrorReason,
    message: string,
  ) {
    super(message);
  }
}
