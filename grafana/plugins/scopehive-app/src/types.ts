/** What the control API answers (services/exporter/src/control/routes.ts). */
export interface Device {
  name: string;
  uuid: string;
  deviceType: string;
  osVersion: string | null;
  supervisorVersion: string | null;
  ipAddresses: string[];
  status: string | null;
  commit: string | null;
  update: {
    pending: boolean;
    downloading: boolean;
    downloaded?: boolean;
    failed: boolean;
    progress: Array<{ service: string; progress: number }>;
  };
}

export interface Service {
  name: string;
  status: string;
  image: string | null;
  createdAt?: string;
}

export interface LogLine {
  service?: string;
  time?: string;
  message: string;
}

export interface Setting {
  name: string;
  value: string | null;
  source: 'default' | 'set';
  description: string;
  masked: boolean;
}

export interface Settings {
  note?: string;
  /** Variables outside the settings schema: never listed, only counted. */
  hiddenVariables?: number;
  services: Array<{ service: string; settings: Setting[] }>;
}
