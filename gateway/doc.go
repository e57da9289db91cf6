// Package gateway is the gateway's core: the LLMGateway service (Complete,
// Stream, Feedback, GetExperiment, Usage), the runtime built from one
// configuration and its hot reload, the routing decision, the answer
// cache's orchestration, and what is done with every answer (quota
// settled, ledger written, experiment recorded, metrics and access line).
// It knows nothing of listeners, TLS or HTTP: the edge serves it.
package gateway
