package sim

// The simulator's answers are deterministic: the text depends only on the
// model, the conversation and max_tokens, never on temperature, time or
// which wire format asked. Words are drawn from a fixed list by a
// splitmix64 sequence seeded with the FNV-1a hash of the model and the last
// user message; max_tokens only cuts the same sequence shorter, so a short
// answer is a prefix of the long one. One word is one output token.

// words is the fixed vocabulary; its length is a power of two.
var words = [...]string{
	"the", "model", "answer", "path", "career", "skill", "team", "project",
	"data", "plan", "growth", "role", "learn", "build", "design", "review",
	"goal", "mentor", "level", "impact", "focus", "clear", "simple", "steady",
	"next", "step", "first", "strong", "open", "shared", "useful", "quick",
	"and", "with", "for", "from", "into", "over", "about", "before",
	"after", "while", "because", "so", "then", "also", "often", "always",
	"system", "service", "request", "response", "token", "stream", "cache", "route",
	"budget", "quota", "latency", "error", "retry", "backup", "signal", "metric",
	"improve", "explore", "measure", "practice", "deliver", "support", "connect", "adapt",
	"write", "read", "test", "ship", "lead", "guide", "choose", "compare",
	"a", "an", "this", "that", "each", "every", "some", "many",
	"good", "better", "best", "new", "small", "large", "early", "later",
	"engineer", "manager", "analyst", "designer", "writer", "teacher", "doctor", "builder",
	"week", "month", "year", "hour", "day", "moment", "season", "cycle",
	"can", "will", "should", "may", "might", "must", "could", "would",
	"idea", "option", "choice", "result", "lesson", "story", "question", "reason",
}

// capWords holds words with their first letter in upper case.
var capWords = func() (c [len(words)]string) {
	for i, w := range words {
		c[i] = string(w[0]-'a'+'A') + w[1:]
	}
	return c
}()

const wordMask = len(words) - 1

// The word list's length must be a power of two: this fails to compile
// otherwise.
var _ [0]struct{} = [len(words) & wordMask]struct{}{}

// FNV-1a, 64 bit.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// answer is one planned answer.
type answer struct {
	seed uint64
	// n is the number of words (output tokens), at least 1.
	n int
	// length is true when max_tokens cut the answer short.
	length bool
}

// planAnswer decides the answer for a request: answerTokens is the
// configured length, maxTokens the request's cap (0 = none).
func planAnswer(model, lastUser string, answerTokens, maxTokens int) answer {
	h := fnvAdd(fnvOffset, model)
	h ^= 0xff
	h *= fnvPrime
	h = fnvAdd(h, lastUser)
	a := answer{seed: h, n: answerTokens}
	if maxTokens > 0 && maxTokens < a.n {
		a.n, a.length = maxTokens, true
	}
	if a.n < 1 {
		a.n = 1
	}
	return a
}

// tokens iterates an answer's tokens.
type tokens struct {
	a     answer
	state uint64
	i     int
}

func (a answer) tokens() tokens { return tokens{a: a, state: a.seed} }

// appendNext appends the next token's text: a word, preceded by a space
// unless it is the first and followed by a full stop if it ends a complete
// answer. It must be called at most a.n times.
func (t *tokens) appendNext(dst []byte) []byte {
	t.state += 0x9e3779b97f4a7c15
	z := t.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	w := int(z) & wordMask
	if t.i == 0 {
		dst = append(dst, capWords[w]...)
	} else {
		dst = append(dst, ' ')
		dst = append(dst, words[w]...)
	}
	t.i++
	if t.i == t.a.n && !t.a.length {
		dst = append(dst, '.')
	}
	return dst
}

// appendText appends the whole answer text. The text is plain ASCII and
// needs no JSON escaping.
func (a answer) appendText(dst []byte) []byte {
	t := a.tokens()
	for range a.n {
		dst = t.appendNext(dst)
	}
	return dst
}

// Text returns the answer the simulator gives to a conversation whose last
// user message is lastUser, for model, with the given default answer length
// and max_tokens cap (0 = none). Tests use it to predict answers.
func Text(model, lastUser string, answerTokens, maxTokens int) string {
	if answerTokens <= 0 {
		answerTokens = DefaultAnswerTokens
	}
	return string(planAnswer(model, lastUser, answerTokens, maxTokens).appendText(nil))
}

// estimateInputTokens is the simulator's prompt token count: a quarter of
// the content bytes, rounded up, plus 4 per message.
func estimateInputTokens(contentBytes, messages int) int {
	return (contentBytes+3)/4 + 4*messages
}
