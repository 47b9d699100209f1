import { Alert } from '@grafana/ui';
import React from 'react';

/** A failure as the control API or Grafana's proxy said it, in one line. */
export function ErrorLine({ error, title = 'Failed' }: { error: Error | undefined; title?: string }) {
  if (!error) return null;
  return (
    <Alert severity="error" title={title} data-testid="error-line">
      {error.message}
    </Alert>
  );
}
