/**
 * `GET /api/v1/jobs` on the inference service's HTTP port: how many jobs are in flight and whether
 * balena's update lock is held for them. The exporter's control API reads it to say why a reboot
 * waits (409 with `jobsInFlight`). The port is exposed on the app network only, never published; the
 * answer holds two numbers' worth of state and nothing secret.
 */
import express, { type Router } from 'express';
import type { UpdateLock, UpdateLockState } from './update-lock.ts';

export interface JobsAnswer {
  jobsInFlight: number;
  updateLock: UpdateLockState;
}

export function jobsRouter(lock: Pick<UpdateLock, 'inFlight' | 'state'>): Router {
  const router = express.Router();
  router.get('/api/v1/jobs', (_req, res) => {
    const answer: JobsAnswer = { jobsInFlight: lock.inFlight, updateLock: lock.state() };
    res.json(answer);
  });
  return router;
}
