module github.com/careerpath/llmgateway

go 1.26.8
