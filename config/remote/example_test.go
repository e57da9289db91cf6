package remote_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gocloud.dev/blob"

	"github.com/careerpath/llmgateway/config/remote"
)

func ExampleSyncer() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "config")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()

	// A store holding the gateway's two required files. In production:
	// src, err := remote.Open(ctx, "s3://my-bucket?prefix=llmgateway/", remote.Options{})
	bucket, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = bucket.WriteAll(ctx, "provider_settings.json", []byte(`{"providers": {}, "models": []}`), nil)
	_ = bucket.WriteAll(ctx, "ab_test_config.json", []byte(`{"routes": {}}`), nil)

	s, err := remote.NewSyncer(remote.NewBucketSource(bucket, "mem://example", remote.Options{}), dir, remote.SyncOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = s.Close() }()

	changed, err := s.SyncOnce(ctx)
	fmt.Println("first sync changed:", changed, err)
	changed, err = s.SyncOnce(ctx)
	fmt.Println("second sync changed:", changed, err)
	b, _ := os.ReadFile(filepath.Join(dir, "ab_test_config.json"))
	fmt.Println(string(b))
	// Output:
	// first sync changed: true <nil>
	// second sync changed: false <nil>
	// {"routes": {}}
}
