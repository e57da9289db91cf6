package quota

import (
	"bytes"
	"encoding/base64"
	"image"
	_ "image/gif"  // image.DecodeConfig of GIF headers
	_ "image/jpeg" // and JPEG
	_ "image/png"  // and PNG
	"strings"

	_ "golang.org/x/image/webp" // and WebP

	"github.com/careerpath/llmgateway/providers"
)

// tokensPerTool approximates the framing vendors wrap around each tool
// definition (OpenAI renders tools as a TypeScript namespace in the system
// prompt, Anthropic as a system-prompt block).
const tokensPerTool = 8

// EstimateRequestTokens is [EstimateTokens] of req's messages plus its
// tool definitions: each tool's name, description and parameters schema,
// counted as text, and a few tokens of framing per tool.
func EstimateRequestTokens(model string, req *providers.Request) int {
	n := EstimateTokens(model, req.Messages)
	if len(req.Tools) == 0 {
		return n
	}
	defs := make([]providers.Message, 0, len(req.Tools))
	for _, t := range req.Tools {
		defs = append(defs, providers.Message{Content: t.Name + " " + t.Description + " " + string(t.Parameters)})
	}
	// The framing of messages (tokensPerMessage) stands in for a tool's.
	return n + EstimateTokens(model, defs) - tokensPerReply + (tokensPerTool-tokensPerMessage)*len(defs)
}

// partText is the text of a part that is counted as prompt text.
func partText(p providers.Part) (string, string) {
	switch {
	case p.Kind == providers.PartText:
		return p.Text, ""
	case p.Kind == providers.PartToolCall && p.ToolCall != nil:
		return p.ToolCall.Name, p.ToolCall.Arguments
	case p.Kind == providers.PartToolResult && p.ToolResult != nil:
		return p.ToolResult.Content, ""
	case p.Kind == providers.PartThinking && p.Thinking != nil:
		return p.Thinking.Text, p.Thinking.Redacted
	}
	return "", ""
}

// Image token approximations. An image whose size is unknown (given by
// URL, or of a header that does not parse) counts as unknownImageTokens,
// at least what either vendor charges for the largest image it accepts.
const (
	unknownImageTokens = 1600
	// OpenAI (gpt-4o, gpt-4.1, o-series): 85 tokens plus 170 per 512px
	// tile; gpt-4o-mini bills 2,833 plus 5,667 per tile.
	openAIBase, openAITile         = 85, 170
	openAIMiniBase, openAIMiniTile = 2833, 5667
	// Anthropic: width × height / 750, after scaling the long edge to at
	// most 1568 pixels.
	anthropicPixelsPerToken = 750
	anthropicMaxEdge        = 1568
)

// ImageTokens estimates the prompt tokens of an image for model. When the
// image is inline (bytes or a data: URL) its width and height come from
// its header (PNG, JPEG, GIF, WebP): for OpenAI models by OpenAI's tile
// formula (fit within 2048×2048, shortest side at most 768, then 170
// tokens per 512-pixel tile plus 85; gpt-4o-mini's own, larger numbers),
// for other models by Anthropic's (width × height / 750, long edge at most
// 1568). Otherwise it is a flat 1,600.
func ImageTokens(model string, img *providers.Image) int {
	w, h, ok := imageSize(img)
	if !ok {
		return unknownImageTokens
	}
	if c, _ := codecFor(model); c != nil {
		base, tile := openAIBase, openAITile
		if strings.HasPrefix(strings.ToLower(model), "gpt-4o-mini") {
			base, tile = openAIMiniBase, openAIMiniTile
		}
		w, h = fit(w, h, 2048)
		if s := min(w, h); s > 768 {
			w, h = w*768/s, h*768/s
		}
		return base + tile*((w+511)/512)*((h+511)/512)
	}
	w, h = fit(w, h, anthropicMaxEdge)
	return max(1, (w*h+anthropicPixelsPerToken-1)/anthropicPixelsPerToken)
}

// fit scales w×h down so that its long edge is at most edge.
func fit(w, h, edge int) (int, int) {
	if l := max(w, h); l > edge {
		return max(1, w*edge/l), max(1, h*edge/l)
	}
	return w, h
}

// maxImageEdge bounds the dimensions a header may claim: past it the
// header is not believed.
const maxImageEdge = 1 << 16

// imageSize reads an inline image's dimensions from its header.
func imageSize(img *providers.Image) (int, int, bool) {
	data := img.Data
	if data == nil {
		rest, ok := strings.CutPrefix(img.URL, "data:")
		if !ok {
			return 0, 0, false
		}
		_, b64, ok := strings.Cut(rest, ";base64,")
		if !ok {
			return 0, 0, false
		}
		var err error
		if data, err = base64.StdEncoding.DecodeString(b64); err != nil {
			return 0, 0, false
		}
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImageEdge || cfg.Height > maxImageEdge {
		return 0, 0, false
	}
	return cfg.Width, cfg.Height, true
}
