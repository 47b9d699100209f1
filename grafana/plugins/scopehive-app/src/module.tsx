import { AppPlugin } from '@grafana/data';
import { App } from './components/App';

export const plugin = new AppPlugin<{ exporterUrl?: string }>().setRootPage(App);
