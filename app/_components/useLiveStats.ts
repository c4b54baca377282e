"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import type { MeResponse } from "./types";

/** `live`: the last poll succeeded. The others say why the figures on screen may be old. */
export type LiveStatus = "live" | "unavailable" | "offline" | "signed-out";

const MAX_BACKOFF_MS = 15_000;

/**
 * Keeps the signed-in user's stats fresh by polling `GET /api/me` every `intervalMs` while
 * the tab is visible, so a change made elsewhere (another tab, an admin's top-up) shows up
 * within about a second.
 *
 * Why polling and not a push channel: the balance lives in Vercel KV, which offers no
 * change feed over its REST API, and a serverless function cannot hold a connection open
 * for every watcher. One small read per second per *visible* tab is cheap; hidden tabs
 * poll nothing and catch up the moment they are shown again.
 *
 * - one request at a time (the next is scheduled when the last one ends), so a slow server
 *   never piles requests up;
 * - errors back off exponentially (503, network), up to 15 s;
 * - 401 stops polling: the session is over and the page says so;
 * - identical answers do not re-render.
 */
export function useLiveStats(initial: MeResponse | null, intervalMs = 1_000) {
  const [stats, setStats] = useState<MeResponse | null>(initial);
  const [status, setStatus] = useState<LiveStatus>("live");
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const kick = useRef<() => void>(() => undefined);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let inFlight: AbortController | null = null;
    let again = false;
    let failures = 0;
    let stopped = false;
    let lastBody: string | null = initial === null ? null : JSON.stringify(initial);

    const visible = () => document.visibilityState === "visible";

    const schedule = (delay: number) => {
      if (timer !== null) clearTimeout(timer);
      timer = stopped || !visible() ? null : setTimeout(poll, delay);
    };

    async function poll(): Promise<void> {
      timer = null;
      if (stopped || !visible()) return;
      if (inFlight !== null) {
        again = true;
        return;
      }
      const controller = new AbortController();
      inFlight = controller;
      try {
        const res = await fetch("/api/me", { credentials: "same-origin", cache: "no-store", signal: controller.signal });
        if (res.status === 401) {
          stopped = true;
          setStatus("signed-out");
          return;
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = await res.text();
        failures = 0;
        if (body !== lastBody) {
          lastBody = body;
          setStats(JSON.parse(body) as MeResponse);
        }
        setStatus("live");
        setUpdatedAt(Date.now());
      } catch (error) {
        if (controller.signal.aborted) return;
        failures += 1;
        setStatus(error instanceof TypeError ? "offline" : "unavailable");
      } finally {
        if (inFlight === controller) inFlight = null;
      }
      if (again) {
        again = false;
        schedule(0);
      } else {
        schedule(Math.min(intervalMs * 2 ** failures, MAX_BACKOFF_MS));
      }
    }

    const onVisibility = () => {
      if (visible()) schedule(0);
      else if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
    };
    const now = () => {
      failures = 0;
      schedule(0);
    };
    kick.current = now;

    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("online", now);
    schedule(initial === null ? 0 : intervalMs);
    return () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      inFlight?.abort();
      document.removeEventListener("visibilitychange", onVisibility);
      window.removeEventListener("online", now);
    };
    // `initial` seeds the first render only; later answers come from the poll itself.
  }, [intervalMs]);

  /** Poll now (after an action of our own), instead of waiting for the next tick. */
  const refresh = useCallback(() => kick.current(), []);

  return { stats, status, updatedAt, refresh };
}
