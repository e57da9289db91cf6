# frozen_string_literal: true

module Llmgateway
  # VERSION is the client library's version.
  VERSION = "0.1.0"
end
