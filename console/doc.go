// Package console is the operator console served on the gateway's admin
// port at /console/: a rolling window of this replica's calls (10 s
// buckets for the last hour, 1 min buckets for the last day), a ring of
// the most recent calls, the history of configuration reloads and breaker
// transitions, and the JSON API the embedded web pages read.
//
// The server hands every finished call to [Console.Record] as a plain
// [Outcome]. Recording takes no lock but a per-slot one of the recent
// ring, allocates nothing, and costs well under a microsecond (see
// BenchmarkRecord). Usage and experiment figures are read from their
// stores, so that with several replicas sharing Redis every console shows
// the cluster's; the API says which figures are this replica's own.
//
// Access to the console, like to the rest of the admin port, is checked by
// [Guard]: an admin token compared in constant time, or, when none is
// configured, loopback clients only.
package console
