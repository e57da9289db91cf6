# frozen_string_literal: true

require "grpc"

module Llmgateway
  # Configuration is how the client reaches the gateway. Set it once, at
  # boot (a Rails initializer), with Llmgateway.configure or
  # Llmgateway::ConfigLoader.
  class Configuration
    # address is the gateway's gRPC address, "host:port".
    attr_accessor :address
    # api_key is the client's API key, sent as "authorization: Bearer <key>".
    attr_accessor :api_key
    # tls turns on TLS; ca_file names a PEM bundle of roots to trust
    # (default: the system's).
    attr_accessor :tls, :ca_file
    # deadline is the default deadline of a Complete call, in seconds.
    attr_accessor :deadline
    # stream_deadline is the default deadline of a whole Stream call, in
    # seconds.
    attr_accessor :stream_deadline
    # channel_args are extra gRPC channel arguments.
    attr_accessor :channel_args

    def initialize
      @address = "127.0.0.1:50051"
      @api_key = nil
      @tls = false
      @ca_file = nil
      @deadline = 30.0
      @stream_deadline = 120.0
      @channel_args = {}
    end

    # validate! raises ConfigError for a configuration that cannot work.
    def validate!
      raise ConfigError, "address: must be host:port, not #{address.inspect}" unless address.is_a?(String) && address.include?(":")

      { "deadline" => deadline, "stream_deadline" => stream_deadline }.each do |name, v|
        raise ConfigError, "#{name}: must be a positive number of seconds, not #{v.inspect}" unless v.is_a?(Numeric) && v.positive?
      end
      raise ConfigError, "ca_file: needs tls" if ca_file && !tls
      raise ConfigError, "ca_file: #{ca_file} cannot be read" if ca_file && !File.readable?(ca_file)

      self
    end

    # credentials are the gRPC channel credentials.
    def credentials
      return :this_channel_is_insecure unless tls

      ca_file ? GRPC::Core::ChannelCredentials.new(File.read(ca_file)) : GRPC::Core::ChannelCredentials.new
    end

    # grpc_channel_args are the channel arguments: keepalive pings that the
    # gateway accepts (every 30s, also between calls), so that a connection
    # dropped by a load balancer is noticed before a request needs it.
    def grpc_channel_args
      {
        "grpc.keepalive_time_ms" => 30_000,
        "grpc.keepalive_timeout_ms" => 10_000,
        "grpc.keepalive_permit_without_calls" => 1,
        "grpc.http2.max_pings_without_data" => 0
      }.merge(channel_args)
    end

    # inspect never shows the API key.
    def inspect
      "#<#{self.class} address=#{address.inspect} tls=#{tls.inspect} deadline=#{deadline.inspect} " \
        "stream_deadline=#{stream_deadline.inspect} api_key=#{api_key ? '[set]' : 'nil'}>"
    end
  end
end
