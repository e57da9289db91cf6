# frozen_string_literal: true

require_relative "lib/llmgateway/version"

# The client library of the LLM gateway, with the gRPC stubs generated from
# the gateway's contract (gen/ruby in this repository). Use it from the
# repository, with Bundler's git or path source:
#
#   gem "llmgateway", git: "https://github.com/careerpath/llmgateway.git", glob: "clients/ruby/*.gemspec"
Gem::Specification.new do |s|
  s.name = "llmgateway"
  s.version = Llmgateway::VERSION
  s.summary = "Ruby client of the LLM gateway: complete, stream, typed errors, trace propagation"
  s.authors = ["Career Path Navigator"]
  s.license = "Nonstandard"
  s.required_ruby_version = ">= 3.0"
  s.files = Dir[File.join(__dir__, "lib/**/*.rb")].map { |f| f.delete_prefix("#{__dir__}/") }
  # The generated stubs are loaded from the repository's gen/ruby, which
  # `make generate` keeps in step with the contract.
  s.require_paths = ["lib", "../../gen/ruby"]
  s.add_dependency "google-protobuf", ">= 3.21", "< 5"
  s.add_dependency "googleapis-common-protos-types", ">= 1.4", "< 2"
  s.add_dependency "grpc", ">= 1.51", "< 2"
end
