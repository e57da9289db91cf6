# frozen_string_literal: true

require "test_helper"
require "openssl"

# tls and ca_file reach a TLS server whose certificate the CA file vouches
# for, and nothing else.
class TLSTest < Minitest::Test
  include GatewayTest

  def setup
    key = OpenSSL::PKey::RSA.new(2048)
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2
    cert.serial = 1
    cert.subject = cert.issuer = OpenSSL::X509::Name.parse("/CN=llm-gateway test")
    cert.public_key = key.public_key
    cert.not_before = Time.now - 60
    cert.not_after = Time.now + 3600
    ef = OpenSSL::X509::ExtensionFactory.new(cert, cert)
    cert.add_extension(ef.create_extension("basicConstraints", "CA:TRUE", true))
    cert.add_extension(ef.create_extension("subjectAltName", "IP:127.0.0.1,DNS:localhost"))
    cert.sign(key, OpenSSL::Digest.new("SHA256"))
    @dir = Dir.mktmpdir
    @ca_file = File.join(@dir, "ca.pem")
    File.write(@ca_file, cert.to_pem)
    creds = GRPC::Core::ServerCredentials.new(nil, [{ private_key: key.to_pem, cert_chain: cert.to_pem }], false)
    @echo = EchoServer.new(creds)
  end

  def teardown
    @echo.stop
    FileUtils.rm_rf(@dir)
  end

  def test_tls_with_a_ca_file
    c = client(address: @echo.addr, api_key: "k-tls", tls: true, ca_file: @ca_file)
    md = JSON.parse(c.complete(route: "x", messages: ask).text)
    assert_equal "Bearer k-tls", md["authorization"]
  end

  def test_an_untrusted_certificate_is_refused
    err = assert_raises(Llmgateway::Unavailable) do
      client(address: @echo.addr, tls: true).complete(route: "x", messages: ask, deadline: 5)
    end
    assert_equal :unavailable, err.code
    assert_raises(Llmgateway::Unavailable, Llmgateway::DeadlineExceeded) do
      client(address: @echo.addr).complete(route: "x", messages: ask, deadline: 2) # plaintext to a TLS port
    end
  end
end
