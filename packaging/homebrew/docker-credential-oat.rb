# Homebrew formula for docker-credential-oat and oat-proxy. The release
# fills in url and sha256 (goreleaser, or by hand for a tap).
class DockerCredentialOat < Formula
  desc "Docker credential helper and scope-checking proxy for Docker Hub OATs"
  homepage "https://github.com/oatkit/oat"
  url "https://github.com/oatkit/oat/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"
  head "https://github.com/oatkit/oat.git", branch: "main"

  depends_on "go" => :build

  def install
    # cgo for the macOS Keychain backend
    ENV["CGO_ENABLED"] = "1"
    ldflags = "-s -w -buildid= -X github.com/oatkit/oat/internal/version.Tag=v#{version}"
    %w[docker-credential-oat oat-proxy].each do |cmd|
      system "go", "build", *std_go_args(output: bin/cmd, ldflags: ldflags), "./cmd/#{cmd}"
    end
    man1.install "packaging/man/docker-credential-oat.1", "packaging/man/oat-proxy.1"
    bash_completion.install "packaging/completions/bash/docker-credential-oat",
                            "packaging/completions/bash/oat-proxy"
    zsh_completion.install "packaging/completions/zsh/_docker-credential-oat",
                           "packaging/completions/zsh/_oat-proxy"
    fish_completion.install "packaging/completions/fish/docker-credential-oat.fish",
                            "packaging/completions/fish/oat-proxy.fish"
  end

  def caveats
    <<~EOS
      Wire Docker to the helper (shows the change first):
        docker-credential-oat setup --dry-run
        docker-credential-oat setup
      The proxy as a login service:
        brew services start docker-credential-oat
    EOS
  end

  service do
    run [opt_bin/"oat-proxy", "serve", "--listen", "127.0.0.1:3128"]
    keep_alive successful_exit: false
    log_path var/"log/oat-proxy.log"
    error_log_path var/"log/oat-proxy.log"
  end

  test do
    assert_match "docker-credential-oat", shell_output("#{bin}/docker-credential-oat version")
    assert_match "Usage: oat-proxy", shell_output("#{bin}/oat-proxy --help")
  end
end
