// Package auth authenticates the gateway's API clients and authorises
// what they ask for.
//
// Clients are configured in clients.json (see [config.Clients]): a name,
// the SHA-256 of the client's API key, the routes it may use, and whether
// it may override the model or force an A/B variant. A [KeyStore] built
// from that file finds the [Client] a presented key belongs to without
// ever holding a key; [Interceptors] authenticate every gRPC call (and so
// every REST call, which the shim forwards over gRPC), attach the client
// to the context ([FromContext]) and refuse requests the client may not
// make, with gRPC status errors carrying a google.rpc.ErrorInfo.
//
// Health checks and reflection are open. With authentication disabled,
// every call is made by the [Anonymous] client, which may do everything.
package auth
