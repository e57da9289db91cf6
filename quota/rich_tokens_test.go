package quota_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/quota"
)

func encoded(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "webp": // a lossless (VP8L) header: width-1 and height-1 in 14 bits each
		b.WriteString("RIFF")
		_ = binary.Write(&b, binary.LittleEndian, uint32(4+8+5))
		b.WriteString("WEBPVP8L")
		_ = binary.Write(&b, binary.LittleEndian, uint32(5))
		b.WriteByte(0x2f)
		_ = binary.Write(&b, binary.LittleEndian, uint32(w-1)|uint32(h-1)<<14)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImageTokens(t *testing.T) {
	tests := []struct {
		name  string
		model string
		img   *providers.Image
		want  int
	}{
		// 1024×1024 → shortest side 768 → 2×2 tiles.
		{"openai png", "gpt-4o", &providers.Image{Data: encoded(t, "png", 1024, 1024)}, 85 + 170*4},
		// 4096×1024 → 2048×512 (fits) → 4×1 tiles.
		{"openai wide jpeg", "gpt-4.1", &providers.Image{Data: encoded(t, "jpeg", 4096, 1024)}, 85 + 170*4},
		{"openai small gif", "gpt-4o", &providers.Image{Data: encoded(t, "gif", 100, 100)}, 85 + 170},
		{"gpt-4o-mini's own numbers", "gpt-4o-mini", &providers.Image{Data: encoded(t, "png", 100, 100)}, 2833 + 5667},
		// 1000×1000 / 750.
		{"anthropic png", "claude-sonnet-4", &providers.Image{Data: encoded(t, "png", 1000, 1000)}, 1334},
		// 3136×1568 → 1568×784 → / 750.
		{"anthropic large", "claude-sonnet-4", &providers.Image{Data: encoded(t, "png", 3136, 1568)}, 1640},
		{"anthropic webp", "claude-haiku", &providers.Image{Data: encoded(t, "webp", 300, 200)}, 80},
		{"data URL", "claude-haiku", &providers.Image{URL: "data:image/png;base64," +
			base64.StdEncoding.EncodeToString(encoded(t, "png", 300, 200))}, 80},
		{"by URL", "gpt-4o", &providers.Image{URL: "https://example.com/cv.png"}, 1600},
		{"not an image", "gpt-4o", &providers.Image{Data: []byte("GIF89a?"), MediaType: "image/gif"}, 1600},
		{"bad data URL", "gpt-4o", &providers.Image{URL: "data:image/png;base64,%%%"}, 1600},
	}
	for _, tt := range tests {
		if got := quota.ImageTokens(tt.model, tt.img); got != tt.want {
			t.Errorf("%s: ImageTokens = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestEstimateRichTokens(t *testing.T) {
	img := &providers.Image{Data: encoded(t, "png", 1024, 1024), MediaType: "image/png"}
	plain := []providers.Message{{Role: providers.RoleUser, Content: "Review my resume."}}
	parts := []providers.Message{{Role: providers.RoleUser, Parts: []providers.Part{
		providers.TextPart("Review my resume."),
		{Kind: providers.PartImage, Image: img},
	}}}
	for _, model := range []string{"gpt-4o", "claude-sonnet-4"} {
		// Text in a part counts as text in content; the image adds its own.
		if got, want := quota.EstimateTokens(model, parts), quota.EstimateTokens(model, plain)+quota.ImageTokens(model, img); got != want {
			t.Errorf("%s: parts = %d, want %d", model, got, want)
		}
	}
	call := []providers.Message{
		{Role: providers.RoleAssistant, Parts: []providers.Part{{Kind: providers.PartToolCall,
			ToolCall: &providers.ToolCall{ID: "c1", Name: "search_jobs", Arguments: `{"query":"data engineer in Lisbon"}`}}}},
		{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult,
			ToolResult: &providers.ToolResult{ToolCallID: "c1", Content: `[{"title":"Data Engineer","company":"Acme"}]`}}}},
	}
	if got := quota.EstimateTokens("gpt-4o", call); got <= quota.EstimateTokens("gpt-4o", []providers.Message{{}, {}})+10 {
		t.Errorf("tool call and result counted as %d tokens", got)
	}

	schema := json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","description":"What to search for"}}}`)
	req := &providers.Request{Messages: plain}
	base := quota.EstimateRequestTokens("gpt-4o", req)
	if base != quota.EstimateTokens("gpt-4o", plain) {
		t.Errorf("no tools: %d", base)
	}
	req.Tools = []providers.Tool{{Name: "search_jobs", Description: "Searches open jobs.", Parameters: schema}}
	one := quota.EstimateRequestTokens("gpt-4o", req)
	req.Tools = append(req.Tools, req.Tools[0])
	two := quota.EstimateRequestTokens("gpt-4o", req)
	if one <= base+20 || two-one != one-base {
		t.Errorf("tools: none %d, one %d, two %d", base, one, two)
	}
}
