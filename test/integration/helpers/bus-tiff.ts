/**
 * bus.jpg as a 16-bit greyscale TIFF saved by ImageJ with a calibration in nm: a detector's counts
 * (an offset and a gain, as a 16-bit camera gives, not 8-bit values times 257), so a test can tell
 * grey values read from the 16-bit data from the 8-bit copy fed to the model.
 */
import sharp from 'sharp';
import {
  ascii,
  buildTiff,
  greyPage,
  rational,
  short,
} from '../../../services/inference/test/microscopy/tiff-writer.ts';
import { sharedImage } from './pipeline.ts';

/** nm per pixel of the TIFF: XResolution = 5/4 pixels per nm. */
export const BUS_16BIT_NM = 0.8;

/** The 16-bit count of an 8-bit grey value of bus.jpg. */
export const busCount = (grey: number) => 1000 + grey * 200;

export interface Bus16Bit {
  tiff: Uint8Array;
  /** The samples written, row by row. */
  samples: Uint16Array;
  width: number;
  height: number;
}

export async function bus16BitTiff(): Promise<Bus16Bit> {
  const { data, info } = await sharp(sharedImage('bus.jpg'))
    .greyscale()
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const samples = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) samples[i] = busCount(data[i]);
  const tiff = buildTiff({
    pages: [
      greyPage(info.width, info.height, 16, new Uint8Array(samples.buffer), {
        270: ascii('ImageJ=1.54f\nunit=nm\n'),
        282: rational(5, 4),
        283: rational(5, 4),
        296: short(1),
      }),
    ],
  });
  return { tiff, samples, width: info.width, height: info.height };
}
