package auth_test

import (
	"context"
	"fmt"
	"testing/fstest"

	"google.golang.org/grpc"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/config"
)

// The gateway loads clients.json, builds a KeyStore and installs the
// interceptors after logging and before status mapping.
func ExampleInterceptors() {
	key, hash := config.NewKey() // what `gateway -new-api-key` prints
	dir := fstest.MapFS{config.ClientsFile: {Data: []byte(`{"clients": [
		{"name": "rails-app", "key_sha256": "` + hash + `", "routes": ["career_advice"]}]}`)}}

	clients, err := config.LoadClients(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := auth.NewKeyStore(clients)
	if err != nil {
		fmt.Println(err)
		return
	}
	unary, stream := auth.Interceptors(store)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream))
	defer srv.Stop()

	c, _ := store.Lookup(key)
	fmt.Println(c.Name, c.AllowsRoute("career_advice"), c.AllowsRoute("resume_review"))
	// Output: rails-app true false
}

// A handler, or a later interceptor such as quotas, reads the client the
// call was authenticated as.
func ExampleFromContext() {
	ctx := auth.NewContext(context.Background(), auth.Anonymous())
	if c, ok := auth.FromContext(ctx); ok {
		fmt.Println(c.Name, c.QuotaGroup, c.AllowModelOverride)
	}
	// Output: anonymous anonymous true
}
