/** Every service's effective settings as the control API gives them: masked values are shown as given. */
import { Badge } from '@grafana/ui';
import React from 'react';
import { route } from '../api';
import { ErrorLine } from '../components/ErrorLine';
import { useLoad } from '../components/useLoad';
import type { Settings } from '../types';

export function SettingsPage() {
  const settings = useLoad(() => route<Settings>('settings'));
  return (
    <div>
      <ErrorLine error={settings.error} title="Settings unavailable" />
      {settings.data?.note && <p>{settings.data.note}</p>}
      {settings.data?.hiddenVariables ? (
        <p>{settings.data.hiddenVariables} variable(s) outside the settings schema are not shown.</p>
      ) : null}
      {settings.data?.services.map((s) => (
        <section key={s.service}>
          <h3>{s.service}</h3>
          <table className="scopehive-table">
            <thead>
              <tr>
                <th>Setting</th>
                <th>Value</th>
                <th>Source</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {s.settings.map((v) => (
                <tr key={v.name}>
                  <td>
                    <code>{v.name}</code>
                  </td>
                  <td>
                    <code>{v.value ?? '—'}</code>{' '}
                    {v.masked && <Badge color="purple" text="masked" icon="lock" />}
                  </td>
                  <td>{v.source}</td>
                  <td>{v.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}
