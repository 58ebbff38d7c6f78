// Requests/s and latency (p50, p99) of br2k::net::HttpServer with a trivial handler, beside a
// bare Beast coroutine loop (read, answer, write: no timeouts, limits, metrics or strand-safe
// shutdown) serving the same reply in the same process, both under wrk (one thread, C keep-alive
// connections) for C in {1, 16, 64}. The ratio shows what the server's robustness costs.
//
// Usage: http_server_bench [--seconds S] [--connections 1,16,64] [--threads T] [--json]
// Both servers run on one io_context with T threads (default 1), each connection on a strand.
// On a small machine wrk and the servers share the cores, so the figures are for comparing runs
// on one host; the two peers alternate which goes first.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <br2k/net/http_server.hpp>
#include <br2k/testing/process.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

namespace {

using namespace std::chrono_literals;

struct Args {
  int seconds = 3;
  std::vector<int> connections{1, 16, 64};
  int threads = 1;
  bool json = false;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--seconds") {
      a.seconds = std::max(1, std::stoi(value()));
    } else if (arg == "--connections") {
      a.connections.clear();
      std::stringstream ss(value());
      for (std::string c; std::getline(ss, c, ',');)
        a.connections.push_back(std::stoi(c));
    } else if (arg == "--threads") {
      a.threads = std::max(1, std::stoi(value()));
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "http_server_bench [--seconds S] [--connections 1,16,64] [--threads T] "
                   "[--json]\n";
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  return a;
}

struct Figures {
  double requests_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::uint64_t errors = 0;  // socket errors and non-2xx responses
};

double wrk_duration_ms(const std::string& text) {
  static const std::regex re(R"(([0-9.]+)(us|ms|s))");
  std::smatch m;
  if (!std::regex_search(text, m, re))
    return 0;
  double v = std::stod(m[1]);
  if (m[2] == "us")
    return v / 1000;
  if (m[2] == "s")
    return v * 1000;
  return v;
}

Figures run_wrk(const Args& a, std::uint16_t port, int connections,
                const br2k::testing::TempDir& dir) {
  auto r = br2k::testing::run_command({.argv = {"wrk", "-t1", "-c" + std::to_string(connections),
                                                "-d" + std::to_string(a.seconds) + "s", "--latency",
                                                "http://127.0.0.1:" + std::to_string(port) + "/"},
                                       .log_file = dir / "wrk.log"},
                                      std::chrono::seconds(a.seconds + 30));
  if (r.exit_status != 0)
    throw std::runtime_error("wrk failed: " + r.output);
  Figures f;
  std::smatch m;
  if (std::regex_search(r.output, m, std::regex(R"(Requests/sec:\s+([0-9.]+))")))
    f.requests_per_s = std::stod(m[1]);
  if (std::regex_search(r.output, m, std::regex(R"(\n\s+50%\s+(\S+))")))
    f.p50_ms = wrk_duration_ms(m[1]);
  if (std::regex_search(r.output, m, std::regex(R"(\n\s+99%\s+(\S+))")))
    f.p99_ms = wrk_duration_ms(m[1]);
  if (std::regex_search(r.output, m, std::regex(R"(Non-2xx or 3xx responses:\s+(\d+))")))
    f.errors += std::stoull(m[1]);
  if (std::regex_search(
          r.output, m,
          std::regex(R"(Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))"))) {
    for (int i = 1; i <= 4; ++i)
      f.errors += std::stoull(m[i]);
  }
  return f;
}

br2k::Task<br2k::net::HttpResponse> trivial(br2k::net::HttpRequest) {
  br2k::net::HttpResponse res(boost::beast::http::status::ok, 11);
  res.set(boost::beast::http::field::content_type, "text/plain");
  res.body() = "ok\n";
  co_return res;
}

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

// The peer: the smallest correct Beast keep-alive loop.
br2k::Task<void> bare_session(tcp::socket socket) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(socket, buffer, req, kUse);
    if (ec)
      co_return;
    http::response<http::string_body> res(http::status::ok, req.version());
    res.set(http::field::content_type, "text/plain");
    res.body() = "ok\n";
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(socket, res, kUse);
    if (wec || !res.keep_alive())
      co_return;
  }
}

br2k::Task<void> bare_accept(tcp::acceptor& acceptor) {
  for (;;) {
    asio::any_io_executor ex = asio::make_strand(acceptor.get_executor());
    auto [ec, socket] = co_await acceptor.async_accept(ex, kUse);
    if (ec)
      co_return;
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(ex, bare_session(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  Args a = parse_args(argc, argv);
  br2k::testing::TempDir dir;
  asio::io_context io(a.threads);
  auto work = asio::make_work_guard(io);
  br2k::net::HttpServer server(io.get_executor(), trivial);
  auto ep = server.start();
  if (!ep)
    throw std::runtime_error(ep.error().message());
  tcp::acceptor bare(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::uint16_t bare_port = bare.local_endpoint().port();
  asio::co_spawn(io, bare_accept(bare), asio::detached);
  std::vector<std::thread> threads;
  for (int i = 0; i < a.threads; ++i)
    threads.emplace_back([&] { io.run(); });

  nlohmann::json out{{"benchmark", "http_server"},
                     {"seconds_per_run", a.seconds},
                     {"server_threads", a.threads},
                     {"runs", nlohmann::json::array()}};
  if (!a.json) {
    std::printf(
        "HttpServer vs a bare Beast loop, trivial handler, wrk -t1, %d s per run, %d "
        "server thread(s)\n",
        a.seconds, a.threads);
    std::printf("%5s | %11s %8s %8s | %11s %8s %8s | %6s\n", "conns", "br2k req/s", "p50 ms",
                "p99 ms", "bare req/s", "p50 ms", "p99 ms", "ratio");
  }
  for (std::size_t i = 0; i < a.connections.size(); ++i) {
    const int c = a.connections[i];
    Figures b, p;
    if (i % 2 == 0) {
      b = run_wrk(a, ep->port(), c, dir);
      p = run_wrk(a, bare_port, c, dir);
    } else {
      p = run_wrk(a, bare_port, c, dir);
      b = run_wrk(a, ep->port(), c, dir);
    }
    const double ratio = p.requests_per_s > 0 ? b.requests_per_s / p.requests_per_s : 0;
    auto figures = [](const Figures& f) {
      return nlohmann::json{{"requests_per_s", f.requests_per_s},
                            {"p50_ms", f.p50_ms},
                            {"p99_ms", f.p99_ms},
                            {"errors", f.errors}};
    };
    out["runs"].push_back({{"connections", c},
                           {"br2k", figures(b)},
                           {"bare_beast", figures(p)},
                           {"throughput_ratio", ratio}});
    if (!a.json) {
      std::printf("%5d | %11.0f %8.3f %8.3f | %11.0f %8.3f %8.3f | %6.2f%s\n", c, b.requests_per_s,
                  b.p50_ms, b.p99_ms, p.requests_per_s, p.p50_ms, p.p99_ms, ratio,
                  b.errors + p.errors ? "  (errors!)" : "");
      std::fflush(stdout);
    }
  }
  auto stopped = asio::co_spawn(io, server.stop(br2k::deadline_after(2s)), asio::use_future);
  stopped.wait();
  asio::post(bare.get_executor(), [&] { bare.close(); });
  work.reset();
  // Bare sessions end when wrk closes its connections; stop() closed the server's.
  for (auto& t : threads)
    t.join();
  if (a.json)
    std::cout << out.dump(2) << "\n";
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "http_server_bench: %s\n", e.what());
  return 1;
}
