# frozen_string_literal: true

require "llmgateway/version"
require "llmgateway/errors"
require "llmgateway/configuration"
require "llmgateway/completion"
require "llmgateway/embeddings"
require "llmgateway/tracing"
require "llmgateway/client"
require "llmgateway/config_loader"

# Llmgateway is the Ruby client of the LLM gateway: configure it once, then
# call Llmgateway.client.complete / stream. The generated gRPC stubs live in
# Llmgateway::V1.
module Llmgateway
  @mutex = Mutex.new

  class << self
    # configure yields the configuration to change, then makes the next
    # Llmgateway.client use it.
    #
    #   Llmgateway.configure do |c|
    #     c.address = "llm-gateway.internal:50051"
    #     c.api_key = ENV.fetch("LLMGW_API_KEY")
    #   end
    def configure
      cfg = config.dup
      yield cfg
      self.config = cfg
    end

    # config is the current configuration.
    def config
      @config ||= Configuration.new
    end

    # config= replaces the configuration (validated) and drops the current
    # client.
    def config=(cfg)
      cfg.validate!
      @mutex.synchronize do
        @config = cfg
        @client = nil
      end
    end

    # client is this process's client, made on first use. A forked worker
    # (Puma, Unicorn, Sidekiq) gets its own, since gRPC connections must not
    # cross a fork.
    def client
      c = @client
      return c if c && @client_pid == Process.pid

      @mutex.synchronize do
        unless @client && @client_pid == Process.pid
          @client = Client.new(config)
          @client_pid = Process.pid
        end
        @client
      end
    end

    # complete is Llmgateway.client.complete.
    def complete(...)
      client.complete(...)
    end

    # stream is Llmgateway.client.stream.
    def stream(...)
      client.stream(...)
    end

    # complete_json is Llmgateway.client.complete_json.
    def complete_json(...)
      client.complete_json(...)
    end

    # embed is Llmgateway.client.embed.
    def embed(...)
      client.embed(...)
    end

    # feedback is Llmgateway.client.feedback.
    def feedback(...)
      client.feedback(...)
    end
  end
end
