/**
 * The harness page's stand-in for Grafana's front end: provides the shared modules a plugin's AMD
 * bundle asks for (React, @grafana/data, @grafana/ui, rxjs, @emotion/css and the stubbed
 * @grafana/runtime), then renders the built plugin's root page in Grafana's dark theme.
 */
import * as emotionCss from '@emotion/css';
import * as data from '@grafana/data';
import * as ui from '@grafana/ui';
import React from 'react';
import * as ReactDOM from 'react-dom';
import { createRoot } from 'react-dom/client';
import * as rxjs from 'rxjs';
import * as runtime from './runtime-stub.js';

const shared = {
  react: React,
  'react-dom': ReactDOM,
  '@grafana/data': data,
  '@grafana/ui': ui,
  '@grafana/runtime': runtime,
  rxjs,
  '@emotion/css': emotionCss,
};

let loaded;
window.define = (deps, factory) => {
  const exports = {};
  const args = deps.map((name) => {
    if (name === 'exports') return exports;
    if (name === 'module') return { uri: '/public/plugins/scopehive-app/module.js' };
    if (!(name in shared)) throw new Error(`the harness does not provide ${name}`);
    return shared[name];
  });
  loaded = factory(...args) ?? exports;
};
window.define.amd = {};

window.__scopehiveStart = () => {
  const theme = data.createTheme({ colors: { mode: 'dark' } });
  document.body.style.background = theme.colors.background.canvas;
  document.body.style.color = theme.colors.text.primary;
  document.body.style.fontFamily = theme.typography.fontFamily;
  document.body.style.margin = '0';
  document.body.style.padding = '16px 24px';
  const Root = loaded.plugin.root;
  createRoot(document.getElementById('root')).render(
    React.createElement(
      ui.ThemeContext.Provider,
      { value: theme },
      React.createElement(Root, {
        meta: { id: 'scopehive-app', jsonData: {} },
        basename: '/a/scopehive-app',
      }),
    ),
  );
};
