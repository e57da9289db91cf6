# frozen_string_literal: true

# Starts one real gateway (bin/gateway) for the whole test run, on free
# loopback ports, with the configuration in test/gateway/ and a freshly made
# API key, and stops it when the run ends, whatever the outcome.

require "fileutils"
require "net/http"
require "socket"
require "tmpdir"
require "llmgateway"

module GatewayProcess
  ROOT = File.expand_path("../../..", __dir__)
  FIXTURE = File.expand_path("gateway", __dir__)

  class << self
    attr_reader :grpc_addr, :http_addr, :admin_addr, :api_key, :sim_addr

    def start
      return if @pid

      bin = ENV.fetch("LLMGW_GATEWAY_BIN", File.join(ROOT, "bin", "gateway"))
      sim = ENV.fetch("LLMGW_LLMSIM_BIN", File.join(ROOT, "bin", "llmsim"))
      [bin, sim].each { |b| raise "#{b} is missing: run `make build`" unless File.executable?(b) }

      @dir = Dir.mktmpdir("llmgw-ruby-test")
      @log = File.join(@dir, "gateway.log")
      @sim_addr = free_addr
      @sim_pid = Process.spawn(sim, "-addr", @sim_addr, "-inter-token", "2ms", "-answer-tokens", "12",
                               in: File::NULL, out: [@log, "a"], err: [:child, :out])
      wait_ready(@sim_pid, "http://#{@sim_addr}/healthz")
      FileUtils.cp(Dir[File.join(FIXTURE, "*.json")], @dir)
      ps = File.join(@dir, "provider_settings.json")
      File.write(ps, File.read(ps).gsub("%LLMSIM%", "http://#{@sim_addr}"))
      @api_key, hash = new_key(bin)
      routes = JSON.parse(File.read(File.join(@dir, "ab_test_config.json")))["routes"].keys - ["admin_only"]
      File.write(File.join(@dir, "clients.json"), JSON.generate(
        clients: [{ name: "ruby-tests", key_sha256: hash, routes: routes }]
      ))
      @grpc_addr, @http_addr, @admin_addr = Array.new(3) { free_addr }
      @pid = Process.spawn(bin, "-config-dir", @dir, "-grpc-addr", @grpc_addr, "-http-addr", @http_addr,
                           "-admin-addr", @admin_addr, "-log-level", "warn", "-shutdown-grace", "2s",
                           in: File::NULL, out: [@log, "a"], err: [:child, :out])
      wait_ready(@pid, "http://#{@admin_addr}/readyz")
    end

    # stop ends the gateway and the simulator (TERM, then KILL after 10s)
    # and removes the directory.
    def stop
      pids = [@pid, @sim_pid].compact
      @pid = @sim_pid = nil
      pids.each { |pid| terminate(pid) }
      FileUtils.rm_rf(@dir) if @dir
      @dir = nil
    end

    # fault injects a fault into the flaky provider (see providers/sim).
    def fault(json)
      req = Net::HTTP::Put.new("/_sim/fault", "Content-Type" => "application/json")
      req.body = JSON.generate(json)
      res = Net::HTTP.start(*@sim_addr.split(":")) { |h| h.request(req) }
      raise "PUT /_sim/fault: #{res.code} #{res.body}" unless res.is_a?(Net::HTTPSuccess)
    end

    def clear_faults
      Net::HTTP.start(*@sim_addr.split(":")) { |h| h.request(Net::HTTP::Delete.new("/_sim/fault")) }
    end

    def log
      File.exist?(@log.to_s) ? File.read(@log) : ""
    end

    private

    def new_key(bin)
      out = IO.popen([bin, "-new-api-key"], &:read)
      raise "#{bin} -new-api-key failed" unless $?.success?

      key = out[/api key[^:]*:\s*(\S+)/, 1]
      hash = out[/key_sha256[^:]*:\s*(\h{64})/, 1]
      raise "cannot read #{bin} -new-api-key's output" unless key && hash

      [key, hash]
    end

    def free_addr
      s = TCPServer.new("127.0.0.1", 0)
      "127.0.0.1:#{s.addr[1]}"
    ensure
      s&.close
    end

    def wait_ready(pid, url)
      deadline = Time.now + 30
      loop do
        raise "#{url}: the process exited at start:\n#{log}" if Process.wait(pid, Process::WNOHANG)

        begin
          return if Net::HTTP.get_response(URI(url)).is_a?(Net::HTTPSuccess)
        rescue SystemCallError, IOError, Net::ReadTimeout
          nil
        end
        raise "#{url} was not ready within 30s:\n#{log}" if Time.now > deadline

        sleep 0.05
      end
    end

    def terminate(pid)
      Process.kill("TERM", pid)
      return if wait_exit(pid, 10)

      Process.kill("KILL", pid)
      Process.wait(pid)
    rescue Errno::ESRCH, Errno::ECHILD
      nil
    end

    def wait_exit(pid, seconds)
      deadline = Time.now + seconds
      while Time.now < deadline
        return true if Process.wait(pid, Process::WNOHANG)

        sleep 0.05
      end
      false
    end
  end
end

# Registered before minitest/autorun's own at_exit hook, so that it runs
# after the tests (hooks run last-registered first); it also covers an
# interrupted run.
at_exit { GatewayProcess.stop }
require "minitest/autorun"

begin
  GatewayProcess.start
rescue StandardError
  GatewayProcess.stop
  raise
end
Minitest.after_run { GatewayProcess.stop }

module GatewayTest
  def client(**overrides)
    cfg = Llmgateway::Configuration.new
    cfg.address = GatewayProcess.grpc_addr
    cfg.api_key = GatewayProcess.api_key
    overrides.each { |k, v| cfg.public_send("#{k}=", v) }
    Llmgateway::Client.new(cfg)
  end

  def ask(text = "How do I move from QA into data engineering?")
    [{ role: :user, content: text }]
  end
end

# EchoServer is a gRPC server in this process standing in for the gateway,
# to show what the client sends: Complete answers with the call's metadata
# as JSON text.
class EchoServer
  # Service answers Complete with the request's metadata.
  class Service < Llmgateway::V1::LLMGateway::Service
    def complete(_req, call)
      Llmgateway::V1::CompleteResponse.new(text: JSON.generate(call.metadata.to_h), route: "echo")
    end
  end

  attr_reader :addr

  def initialize(creds)
    @server = GRPC::RpcServer.new(pool_size: 2)
    port = @server.add_http2_port("127.0.0.1:0", creds)
    @server.handle(Service)
    @thread = Thread.new { @server.run }
    @server.wait_till_running(5)
    @addr = "127.0.0.1:#{port}"
  end

  def stop
    @server.stop
    @thread.join
  end
end
