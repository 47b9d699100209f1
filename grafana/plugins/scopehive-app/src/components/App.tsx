/**
 * The app's root page: one tab per page, the page named by the last part of the URL
 * (`/a/scopehive-app/<page>`), as the side menu links them (plugin.json `includes`).
 */
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { locationService, PluginPage } from '@grafana/runtime';
import { Tab, TabContent, TabsBar, useStyles2 } from '@grafana/ui';
import React, { useEffect, useState } from 'react';
import { PLUGIN_ID } from '../api';
import { hiveNodes } from '../hive';
import { DevicePage } from '../pages/DevicePage';
import { HivePage } from '../pages/HivePage';
import { LogsPage } from '../pages/LogsPage';
import { ServicesPage } from '../pages/ServicesPage';
import { SettingsPage } from '../pages/SettingsPage';
import { currentRole } from '../roles';
import { useLoad } from './useLoad';

export const PAGES = ['device', 'services', 'logs', 'settings', 'hive'] as const;
export type Page = (typeof PAGES)[number];
const TITLES: Record<Page, string> = {
  device: 'Device',
  services: 'Services',
  logs: 'Logs',
  settings: 'Settings',
  hive: 'Hive',
};

export function pageOf(pathname: string): Page {
  const last = pathname.replace(/\/+$/, '').split('/').pop() ?? '';
  return (PAGES as readonly string[]).includes(last) ? (last as Page) : 'device';
}

export function App() {
  const [page, setPage] = useState<Page>(() => pageOf(locationService.getLocation().pathname));
  useEffect(
    () =>
      locationService
        .getHistory()
        .listen((location: { pathname: string }) => setPage(pageOf(location.pathname))),
    [],
  );
  const role = currentRole();
  const hive = useLoad(hiveNodes);
  const hasHive = (hive.data?.length ?? 0) > 0;
  const styles = useStyles2(getStyles);
  const tabs = PAGES.filter((p) => p !== 'hive' || hasHive);
  const shown = page === 'hive' && !hasHive && !hive.loading ? 'device' : page;

  return (
    <PluginPage>
      <div className={styles.root} data-testid={`scopehive-page-${shown}`}>
        <TabsBar>
          {tabs.map((p) => (
            <Tab
              key={p}
              label={TITLES[p]}
              active={p === shown}
              onChangeTab={() => locationService.push(`/a/${PLUGIN_ID}/${p}`)}
            />
          ))}
        </TabsBar>
        <TabContent className={styles.content}>
          {shown === 'device' && <DevicePage role={role} />}
          {shown === 'services' && <ServicesPage role={role} />}
          {shown === 'logs' && <LogsPage />}
          {shown === 'settings' && <SettingsPage />}
          {shown === 'hive' && <HivePage hive={hive} />}
        </TabContent>
      </div>
    </PluginPage>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  root: css({
    '.scopehive-table': { borderCollapse: 'collapse', width: '100%' },
    '.scopehive-table th, .scopehive-table td': {
      textAlign: 'left',
      padding: theme.spacing(0.5, 1),
      borderBottom: `1px solid ${theme.colors.border.weak}`,
    },
    '.scopehive-facts th, .scopehive-facts td': { padding: theme.spacing(0.5, 1) },
    '.scopehive-logs': { maxHeight: '60vh', overflow: 'auto', fontSize: theme.typography.bodySmall.fontSize },
    '.scopehive-select': {
      height: theme.spacing(4),
      background: theme.components.input.background,
      color: theme.colors.text.primary,
      border: `1px solid ${theme.components.input.borderColor}`,
      borderRadius: theme.shape.radius.default,
      padding: theme.spacing(0, 1),
    },
  }),
  content: css({ paddingTop: theme.spacing(2) }),
});
