// HTTPS (serve --tls-cert/--tls-key) with a CA made by the test: the AWS CLI (--ca-bundle), boto3
// (verify=CA) and the runtimed CLI create and invoke functions over it, signed; plain HTTP, TLS 1.1
// and a silent client are turned away; keep-alive holds; SIGHUP loads a new certificate; bad files
// keep serve from starting.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "api/sigv4.hpp"
#include "tests/integration/daemon_test.hpp"
#include "tests/tls_test_support.hpp"

namespace {

using testsupport::DaemonProcess;
using testsupport::TempDir;
using testsupport::TlsConnection;
namespace fs = std::filesystem;

constexpr const char* kAws = "/usr/bin/aws";

class DaemonTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testsupport::make_test_pki(dir_.path() / "pki");
    {
      std::ofstream out(credentials_path());
      out << "[AKIAALICE]\nsecret_access_key = alice-secret\naccount_id = 000000000000\n";
    }
    ::chmod(credentials_path().c_str(), 0600);
    std::ofstream(dir_.path() / "fn.zip", std::ios::binary) << testsupport::function_zip();
  }
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--credentials", credentials_path(),
                                     "--tls-cert",    pki_.server_cert.string(),
                                     "--tls-key",     pki_.server_key.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    daemon_ = std::make_unique<DaemonProcess>(args);
    daemon_->trust(pki_.ca_cert);
  }
  void TearDown() override {
    if (daemon_) testsupport::expect_clean_stop(*daemon_);
  }
  std::string credentials_path() const { return (dir_.path() / "credentials").string(); }
  std::string https_endpoint() const {
    return "https://127.0.0.1:" + std::to_string(daemon_->port());
  }
  std::vector<std::string> client_env() const {
    return testsupport::aws_client_env(dir_.path(), "AKIAALICE", "alice-secret");
  }
  testsupport::CommandRun aws(std::vector<std::string> args, bool with_ca = true) {
    args.insert(args.begin(), {kAws, "lambda"});
    args.insert(args.end(), {"--endpoint-url", https_endpoint(), "--output", "json"});
    if (with_ca) args.insert(args.end(), {"--ca-bundle", pki_.ca_cert.string()});
    return testsupport::run_command(args, client_env());
  }
  testsupport::CommandRun s_client(const std::string& version_flag) {
    return testsupport::run_command({"/usr/bin/openssl", "s_client", "-connect",
                                     "127.0.0.1:" + std::to_string(daemon_->port()), version_flag,
                                     "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile",
                                     pki_.ca_cert.string(), "-verify_return_error", "-brief"});
  }
  // A signed GET of the function list on an open TLS connection.
  int signed_list(TlsConnection& c, std::string* body) {
    api::HttpRequest r;
    r.method = "GET";
    r.raw_path = r.path = "/2015-03-31/functions/";
    r.headers.emplace("Host", "127.0.0.1");
    api::sign_sigv4(r, "AKIAALICE", "alice-secret", "us-east-1", "lambda",
                    std::chrono::system_clock::now());
    return c.request("GET", r.path, "", body,
                     "X-Amz-Date: " + r.header("X-Amz-Date") +
                         "\r\nAuthorization: " + r.header("Authorization") + "\r\n");
  }

  TempDir dir_{"rt-tls"};
  testsupport::TestPki pki_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DaemonTlsTest, TheAwsCliBoto3AndTheRuntimedCliCreateAndInvokeOverHttps) {
  start();
  auto created = aws({"create-function", "--function-name", "fn", "--runtime", "provided.al2023",
                      "--handler", "x", "--role", "arn:aws:iam::000000000000:role/x", "--zip-file",
                      "fileb://" + (dir_.path() / "fn.zip").string()});
  ASSERT_EQ(created.status, 0) << created;
  auto invoked = aws({"invoke", "--function-name", "fn", "--cli-binary-format", "raw-in-base64-out",
                      "--payload", R"({"over":"tls"})", (dir_.path() / "out.json").string()});
  ASSERT_EQ(invoked.status, 0) << invoked;
  std::ifstream out(dir_.path() / "out.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(out), {}), R"({"over":"tls"})");
  // Without the CA the CLI does not trust the daemon: the certificate really is checked.
  auto untrusted = aws({"list-functions"}, /*with_ca=*/false);
  EXPECT_NE(untrusted.status, 0);
  EXPECT_NE(untrusted.err.find("SSL"), std::string::npos) << untrusted;

  auto boto = testsupport::run_command(
      {"/usr/bin/python3", "-c",
       "import boto3,json,sys\n"
       "c=boto3.client('lambda',endpoint_url=sys.argv[1],region_name='us-east-1',verify=sys.argv[2]"
       ","
       "aws_access_key_id='AKIAALICE',aws_secret_access_key='alice-secret')\n"
       "c.create_function(FunctionName='boto-fn',Runtime='provided.al2023',Handler='x',"
       "Role='arn:aws:iam::000000000000:role/x',Code={'ZipFile':open(sys.argv[3],'rb').read()})\n"
       "a=c.invoke(FunctionName='boto-fn',Payload=json.dumps({'from':'boto3'}))\n"
       "print(a['StatusCode'],a['Payload'].read().decode())\n",
       https_endpoint(), pki_.ca_cert.string(), (dir_.path() / "fn.zip").string()},
      client_env());
  EXPECT_EQ(boto.status, 0) << boto;
  EXPECT_EQ(boto.out, "200 {\"from\": \"boto3\"}\n") << boto;

  // The runtimed CLI: an https:// --endpoint with --ca-bundle, signing from the environment.
  auto cli = testsupport::run_command(
      {testsupport::bin_path("runtimed").string(), "invoke", "fn", "--endpoint", https_endpoint(),
       "--ca-bundle", pki_.ca_cert.string(), "--payload", R"({"cli":1})"},
      client_env());
  EXPECT_EQ(cli.status, 0) << cli;
  EXPECT_NE(cli.out.find(R"({"cli":1})"), std::string::npos) << cli;
  auto cli_untrusted = testsupport::run_command(
      {testsupport::bin_path("runtimed").string(), "list", "--endpoint", https_endpoint()},
      client_env());
  EXPECT_EQ(cli_untrusted.status, 2) << cli_untrusted;
  EXPECT_NE(cli_untrusted.err.find("not trusted"), std::string::npos) << cli_untrusted;
}

TEST_F(DaemonTlsTest, TwoRequestsShareOneTlsConnection) {
  start();
  TlsConnection c(daemon_->port(), pki_.ca_cert);
  std::string body;
  EXPECT_EQ(signed_list(c, &body), 200) << body;
  EXPECT_EQ(signed_list(c, &body), 200) << body;  // same connection: keep-alive held
  EXPECT_NE(body.find("\"Functions\""), std::string::npos) << body;
  EXPECT_EQ(c.version(), "TLSv1.3");
}

// A response that ends the connection ends TLS properly: the client reads the server's
// close_notify (Python with suppress_ragged_eofs=False raises SSLEOFError on a bare TCP close).
TEST_F(DaemonTlsTest, AConnectionThatEndsSendsCloseNotify) {
  start();
  const char* script = R"PY(import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF  # Python sets it: a bare TCP close must show
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s = ctx.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False)
s.sendall(b"GET /runtimed/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except ssl.SSLEOFError as e:
    print("no close_notify:", e)
    sys.exit(1)
print(data.split(b"\r\n", 1)[0].decode())
)PY";
  auto run = testsupport::run_command(
      {"/usr/bin/python3", "-c", script, std::to_string(daemon_->port()), pki_.ca_cert.string()});
  EXPECT_EQ(run.status, 0) << run;
  EXPECT_NE(run.out.find("HTTP/1.1 403"), std::string::npos) << run;
}

TEST_F(DaemonTlsTest, PlainHttpToTheTlsPortFailsAndHttpsGoesOn) {
  start();
  httplib::Client plain("127.0.0.1", daemon_->port());
  plain.set_read_timeout(5, 0);
  auto r = plain.Get("/runtimed/v1/health");
  EXPECT_FALSE(r);  // the handshake failed on a request line: closed without an answer
  auto after = daemon_->client().Get("/runtimed/v1/health");
  ASSERT_TRUE(after) << httplib::to_string(after.error());
  EXPECT_EQ(after->status, 403);  // up, asking for a signature
}

TEST_F(DaemonTlsTest, ATls11OnlyClientIsRefusedATls12OneIsServed) {
  start();
  auto old = s_client("-tls1_1");
  EXPECT_NE(old.status, 0) << old;
  // The server's refusal, not the client's own: the client did offer TLS 1.1 (SECLEVEL=0).
  EXPECT_NE((old.out + old.err).find("alert protocol version"), std::string::npos) << old;
  EXPECT_THROW(TlsConnection(daemon_->port(), pki_.ca_cert, TLS1_1_VERSION), std::runtime_error);

  auto tls12 = s_client("-tls1_2");
  EXPECT_EQ(tls12.status, 0) << tls12;
  EXPECT_NE((tls12.out + tls12.err).find("TLSv1.2"), std::string::npos) << tls12;
  TlsConnection c(daemon_->port(), pki_.ca_cert, TLS1_2_VERSION);
  EXPECT_EQ(c.version(), "TLSv1.2");
  std::string body;
  EXPECT_EQ(signed_list(c, &body), 200) << body;
}

TEST_F(DaemonTlsTest, AClientThatNeverHandshakesIsDroppedAfterTheRequestTimeout) {
  start({"--request-timeout", "1"});
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(daemon_->port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const auto t0 = std::chrono::steady_clock::now();
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);  // the daemon closed it
  char c = 0;
  EXPECT_EQ(::read(fd, &c, 1), 0);
  const auto waited = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::milliseconds(2500));
}

TEST_F(DaemonTlsTest, SighupLoadsANewCertificateAndKeepsTheOldOneWhenTheNewIsBad) {
  start();
  // A bad pair first: the daemon keeps serving the certificate it has.
  fs::copy_file(pki_.other_key, pki_.server_key, fs::copy_options::overwrite_existing);
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
  bool logged = false;
  for (int i = 0; i < 250 && !logged; ++i) {
    logged = daemon_->daemon_log().find("kept the certificate in force") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(logged) << daemon_->daemon_log();
  EXPECT_NO_THROW(TlsConnection(daemon_->port(), pki_.ca_cert));

  // A new CA's certificate in the same files: new connections get it.
  TempDir next_dir("rt-tls-next");
  const auto next = testsupport::make_test_pki(next_dir.path());
  fs::copy_file(next.server_cert, pki_.server_cert, fs::copy_options::overwrite_existing);
  fs::copy_file(next.server_key, pki_.server_key, fs::copy_options::overwrite_existing);
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
  bool switched = false;
  for (int i = 0; i < 250 && !switched; ++i) {
    try {
      TlsConnection c(daemon_->port(), next.ca_cert);
      switched = true;
    } catch (const std::runtime_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_TRUE(switched) << daemon_->daemon_log();
  EXPECT_THROW(TlsConnection(daemon_->port(), pki_.ca_cert), std::runtime_error);
}

TEST_F(DaemonTlsTest, ServeRefusesToStartWithABadCertificateKeyOrHalfAPair) {
  TempDir state("rt-tls-state");
  std::ofstream(dir_.path() / "garbage.pem") << "not a certificate\n";
  auto serve = [&](std::vector<std::string> tls_args) {
    std::vector<std::string> args = {testsupport::bin_path("runtimed").string(),
                                     "serve",
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(testsupport::free_port()),
                                     "--state-dir",
                                     state.path().string(),
                                     "--network",
                                     "none"};
    args.insert(args.end(), tls_args.begin(), tls_args.end());
    return testsupport::run_command(args);
  };
  auto garbage = serve({"--tls-cert", (dir_.path() / "garbage.pem").string(), "--tls-key",
                        pki_.server_key.string()});
  EXPECT_EQ(garbage.status, 2) << garbage;
  EXPECT_NE(garbage.err.find("not a PEM certificate chain"), std::string::npos) << garbage;
  auto mismatch =
      serve({"--tls-cert", pki_.server_cert.string(), "--tls-key", pki_.other_key.string()});
  EXPECT_EQ(mismatch.status, 2) << mismatch;
  EXPECT_NE(mismatch.err.find("does not belong to the certificate"), std::string::npos) << mismatch;
  auto half = serve({"--tls-cert", pki_.server_cert.string()});
  EXPECT_EQ(half.status, 2) << half;
  EXPECT_NE(half.err.find("--tls-cert and --tls-key go together"), std::string::npos) << half;
}

}  // namespace
