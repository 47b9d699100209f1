/**
 * Journal lines: a service filter, a search over what is shown, and a live follow (server-sent events
 * through the same proxy route, so Grafana's session and role check apply to the stream too).
 */
import { Button, Field, Input, Stack } from '@grafana/ui';
import React, { useEffect, useMemo, useState } from 'react';
import { PROXY, route } from '../api';
import { ErrorLine } from '../components/ErrorLine';
import { useLoad } from '../components/useLoad';
import type { LogLine, Service } from '../types';

const LINES = 200;
/** What a followed page keeps: older lines scroll away. */
const KEEP = 2000;

export function LogsPage() {
  const [service, setService] = useState('');
  const [search, setSearch] = useState('');
  const [follow, setFollow] = useState(false);
  const [streamError, setStreamError] = useState<Error>();
  const services = useLoad(() => route<{ services: Service[] }>('services'));
  const params: Record<string, string | number> = service ? { service, lines: LINES } : { lines: LINES };
  const logs = useLoad(() => route<{ lines: LogLine[] }>('logs', { params }), [service]);
  const [live, setLive] = useState<LogLine[]>([]);

  useEffect(() => {
    setLive([]);
    if (!follow) return;
    setStreamError(undefined);
    const query = new URLSearchParams({ follow: '1', lines: '1', ...(service ? { service } : {}) });
    const source = new EventSource(`${PROXY}/logs?${query}`);
    source.onmessage = (event) => {
      const line = JSON.parse(event.data) as LogLine;
      setLive((lines) => [...lines.slice(-KEEP + 1), line]);
    };
    // The API ends a failed stream with one `error` event carrying its line; a dropped connection has none.
    source.addEventListener('error', (event) => {
      const data = (event as MessageEvent).data;
      const said = typeof data === 'string' ? (JSON.parse(data) as { error?: string }).error : undefined;
      setStreamError(new Error(said ?? 'live follow stopped: the connection was lost'));
      source.close();
      setFollow(false);
    });
    return () => source.close();
  }, [follow, service]);

  const shown = useMemo(() => {
    const all = [...(logs.data?.lines ?? []), ...live];
    const needle = search.trim().toLowerCase();
    return needle ? all.filter((l) => l.message.toLowerCase().includes(needle)) : all;
  }, [logs.data, live, search]);

  return (
    <div>
      <Stack direction="row" gap={2} alignItems="flex-end">
        <Field label="Service">
          <select
            aria-label="Service"
            value={service}
            onChange={(e) => setService(e.currentTarget.value)}
            className="scopehive-select"
          >
            <option value="">All services</option>
            {(services.data?.services ?? []).map((s) => (
              <option key={s.name} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Search">
          <Input
            aria-label="Search logs"
            value={search}
            onChange={(e) => setSearch(e.currentTarget.value)}
            width={30}
          />
        </Field>
        <Field label="Live">
          <Button
            variant={follow ? 'primary' : 'secondary'}
            icon={follow ? 'pause' : 'play'}
            aria-pressed={follow}
            onClick={() => setFollow(!follow)}
          >
            {follow ? 'Stop following' : 'Follow live'}
          </Button>
        </Field>
        <Field label="Lines">
          <Button variant="secondary" icon="sync" onClick={logs.reload}>
            Reload
          </Button>
        </Field>
      </Stack>
      <ErrorLine error={logs.error ?? streamError} title="Logs unavailable" />
      <pre className="scopehive-logs" data-testid="log-lines">
        {shown
          .map((l) => `${l.time ?? ''} ${l.service ? `[${l.service}] ` : ''}${l.message}`.trim())
          .join('\n')}
      </pre>
    </div>
  );
}
