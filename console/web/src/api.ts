// The console's JSON API (see console/*.go for the shapes).

export type Num = number | null;

export interface Header { replica: string; now: string; scope: 'replica' | 'cluster' }

export interface Figures {
  requests: number; errors: number; rps: Num; error_rate: Num;
  p50_ms: Num; p95_ms: Num; p99_ms: Num; ttft_p50_ms: Num; ttft_p95_ms: Num;
  cache_hit_rate: Num; tokens_per_min: Num; cost_per_hour_usd: Num; cost_usd: Num;
  input_tokens: number; output_tokens: number; retries: number; failed_attempts: number;
  hedges: number; hedges_won: number; steps: Record<string, number>; codes: Record<string, number>;
}

export interface Row extends Figures { name: string }

export interface Timeline {
  step_seconds: number; t: number[]; rps: Num[]; error_rate: Num[];
  p50_ms: Num[]; p95_ms: Num[]; p99_ms: Num[]; ttft_p95_ms: Num[];
  cache_hit_rate: Num[]; tokens_per_min: Num[]; cost_per_hour_usd: Num[];
}

export interface Overview extends Header {
  range: string; target_p95_ms: number; totals: Figures; timeline: Timeline; routes: Row[];
}

export interface Breaker { provider: string; state: string; failure_rate: number; executions: number }
export interface Transition { time: string; provider: string; from: string; to: string }
export interface ProviderReport extends Figures {
  name: string; breaker: Breaker | null; models: Row[]; error_classes: Record<string, number>; timeline: Timeline;
}
export interface Providers extends Header {
  range: string; providers: ProviderReport[]; transitions: Transition[]; failover: Row[];
}

export interface VariantStats {
  name: string; weight: number; provider: string; model: string; requests: number; errors: number;
  error_rate: Num; cache_hits: number; feedback: number; successes: number; failures: number;
  success_rate: Num; ci_low: Num; ci_high: Num; scores: number; mean_score: Num;
  p50_ms: Num; p95_ms: Num; cost_per_answer_usd: Num; probability_best: Num;
}
export interface Comparison {
  leader: string; variant: string; z: Num; p_value: Num; significant: boolean;
  probability_leader_better: Num; small_sample: boolean;
}
export interface ExperimentReport {
  route: string; experiment: string; control: string; variants: VariantStats[]; leader: string;
  comparisons: Comparison[]; winner: string; verdict: string; needed_per_variant: number;
  timeline: { step_seconds: number; t: number[]; rps: Record<string, Num[]>; p95_ms: Record<string, Num[]> };
  error?: string;
}
export interface Experiments extends Header { range: string; experiments: ExperimentReport[] }

export interface UsageRow {
  day: string; key: string; requests: number; cache_hits: number; input_tokens: number;
  output_tokens: number; cost_nanos: number; cost_usd: Num;
}
export interface Budget {
  limit: string; period: string; group: string; limit_nanos: number; spent_nanos: number;
  limit_usd: Num; spent_usd: Num; burn: Num; note?: string;
}
export interface Usage extends Header { days: number; group_by: string; rows: UsageRow[]; budgets: Budget[] }

export interface ReloadEvent { time: string; reason: string; version: string; applied: boolean; error?: string }
export interface Change { path: string; old?: unknown; new?: unknown }
export interface ConfigView extends Header {
  status: Record<string, unknown> | null; version: string; loaded_at: string; config: unknown;
  history: ReloadEvent[]; diff: { from: string; to: string; changes: Change[] } | null;
}

export interface Call {
  time: string; rpc: string; route: string; variant: string; provider: string; model: string; client: string;
  status: string; step: string; cache: string; input_tokens: number; output_tokens: number;
  cost_usd: Num; latency_ms: Num; ttft_ms: Num; failed_attempts: number;
}
export interface Calls extends Header { calls: Call[] }

export async function get<T>(path: string): Promise<T> {
  const res = await fetch(`/console/api/${path}`, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (!res.ok) {
    throw new Error(`${path}: ${res.status} ${await res.text()}`);
  }
  return (await res.json()) as T;
}
