// wrk.hpp: runs wrk (https://github.com/wg/wrk), a plain HTTP load generator, sending one fixed
// request over C keep-alive connections, and returns its figures. Shared by the benchmarks that
// measure BR2K beside a peer under the same load.
//
// The figures come from a Lua done() hook that prints wrk's own summary and latency histogram in a
// fixed machine-readable line (so nothing depends on wrk's human-readable units). Requests/s is
// wrk's: responses received / run time; latencies are wrk's (not corrected for coordinated
// omission, like its --latency table).
//
// Statuses: wrk itself counts only statuses >= 400 as errors. With count_statuses, a Lua
// response() hook counts every reply that is not 2xx (a 307 redirect included) by status; it
// costs wrk some CPU per reply, so give both peers of a comparison the same setting.
//
// Thread-safety: run_wrk() blocks the calling thread; it may be called from any thread.
#pragma once

#include <br2k/testing/process.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace br2k::bench {

struct WrkRequest {
  std::string url;  // the whole URL, path included: "http://127.0.0.1:2379/v3/kv/put"
  std::string method = "GET";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Count every non-2xx reply by status (see the header comment); false: wrk's count of >= 400.
  bool count_statuses = false;
  // Each connection waits this long before each request (wrk's delay() hook): a paced load of
  // about connections / (delay + latency) requests per second instead of as fast as replies come.
  int delay_ms = 0;
  // With delay_ms: each wait is drawn from an exponential distribution of mean delay_ms (whole
  // milliseconds, as wrk's timers take), so the connections' requests arrive spread out like
  // independent clients' (about Poisson). With equal fixed waits, connections that start
  // together stay in step and their requests arrive in bursts of C at once: the latency measured
  // is then mostly the queue each burst makes, not what a request costs.
  bool random_delay = false;
  // A header given a value of its own in every request ("" for none): an Idempotency-Key, so a
  // write is the same request on every path (br2k-proxy adds a key to a write that lacks one,
  // which costs the leader a deduplication record; a direct or HAProxy write would skip it). The
  // values are "<unique_prefix>-<wrk thread>-<n>"; give each run its own prefix (the leader keeps
  // a key's reply, and a repeated key is answered from it).
  std::string unique_header;
  std::string unique_prefix;
};

struct WrkOptions {
  int threads = 1;
  int connections = 1;
  int seconds = 5;
  // Where the script and wrk's output (appended to wrk.log) go. Required.
  std::filesystem::path dir;
};

struct WrkFigures {
  double ops_per_s = 0;  // responses per second
  double p50_ms = 0;
  double p99_ms = 0;
  double mean_ms = 0;
  double seconds = 0;          // how long wrk ran
  std::uint64_t requests = 0;  // responses received (any status)
  // Replies with a bad status: every non-2xx with count_statuses, else those >= 400.
  std::uint64_t bad_status = 0;
  std::map<int, std::uint64_t> statuses;  // non-2xx replies by status (count_statuses only)
  std::uint64_t socket_errors = 0;        // connect + read + write errors and timeouts
  std::uint64_t ok() const { return requests - bad_status; }
};

namespace wrk_detail {

// A Lua long-bracket string literal holding `s` verbatim.
inline std::string lua_long_string(const std::string& s) {
  std::string eq;
  while (s.find("]" + eq + "]") != std::string::npos)
    eq += '=';
  // A newline right after the opening bracket is dropped by Lua; add one so a body starting
  // with a newline keeps it.
  return "[" + eq + "[\n" + s + "]" + eq + "]";
}

inline std::string script(const WrkRequest& r) {
  std::ostringstream s;
  s << "wrk.method = " << lua_long_string(r.method) << "\n";
  if (!r.body.empty())
    s << "wrk.body = " << lua_long_string(r.body) << "\n";
  for (const auto& [name, value] : r.headers)
    s << "wrk.headers[ " << lua_long_string(name) << " ] = " << lua_long_string(value) << "\n";
  s << "local threads = {}\n"
       "function setup(thread) table.insert(threads, thread); thread:set('index', #threads) end\n";
  if (!r.unique_header.empty()) {
    // wrk.format() builds the request from wrk.headers, which each thread has its own copy of.
    s << "local sent = 0\n"
         "function request()\n"
         "  sent = sent + 1\n"
         "  wrk.headers[ "
      << lua_long_string(r.unique_header) << " ] = " << lua_long_string(r.unique_prefix)
      << " .. '-' .. index .. '-' .. sent\n"
         "  return wrk.format()\n"
         "end\n";
  }
  if (r.delay_ms > 0 && r.random_delay) {
    // A fixed seed: every path of a comparison gets the same sequence of waits.
    s << "math.randomseed(20261201)\n"
         "function delay() return math.floor(-"
      << r.delay_ms << " * math.log(1 - math.random()) + 0.5) end\n";
  } else if (r.delay_ms > 0) {
    s << "function delay() return " << r.delay_ms << " end\n";
  }
  if (r.count_statuses) {
    s << "function init(args) bad = 0; statuses = {} end\n"
         "function response(status, headers, body)\n"
         "  if status < 200 or status > 299 then\n"
         "    bad = bad + 1\n"
         "    statuses[status] = (statuses[status] or 0) + 1\n"
         "  end\n"
         "end\n";
  }
  s << "function done(summary, latency, requests)\n"
       "  local bad, codes = 0, ''\n";
  if (r.count_statuses) {
    s << "  local all = {}\n"
         "  for _, t in ipairs(threads) do\n"
         "    bad = bad + t:get('bad')\n"
         "    for code, n in pairs(t:get('statuses')) do all[code] = (all[code] or 0) + n end\n"
         "  end\n"
         "  for code, n in pairs(all) do codes = codes .. code .. ':' .. n .. ',' end\n";
  } else {
    s << "  bad = summary.errors.status\n";
  }
  s << "  local e = summary.errors\n"
       "  io.write(string.format('BR2K-WRK requests=%d duration_us=%d p50_us=%d p99_us=%d "
       "mean_us=%f socket_errors=%d bad=%d statuses=%s\\n', summary.requests, summary.duration, "
       "latency:percentile(50), latency:percentile(99), latency.mean, "
       "e.connect + e.read + e.write + e.timeout, bad, codes))\n"
       "end\n";
  return s.str();
}

inline double field(const std::string& line, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("\\b" + name + "=([0-9.eE+-]+)")))
    throw std::runtime_error("wrk: no " + name + " in: " + line);
  return std::stod(m[1]);
}

}  // namespace wrk_detail

// Runs wrk for options.seconds; throws std::runtime_error if it fails or prints no figures.
inline WrkFigures run_wrk(const WrkRequest& request, const WrkOptions& options) {
  std::filesystem::create_directories(options.dir);
  const auto script = options.dir / "wrk.lua";
  {
    std::ofstream out(script, std::ios::trunc);
    out << wrk_detail::script(request);
    if (!out)
      throw std::runtime_error("wrk: cannot write " + script.string());
  }
  auto r = testing::run_command(
      {.argv = {"wrk", "-t" + std::to_string(options.threads),
                "-c" + std::to_string(options.connections),
                "-d" + std::to_string(options.seconds) + "s", "-s", script.string(), request.url},
       .log_file = options.dir / "wrk.log"},
      std::chrono::seconds(options.seconds + 30));
  if (r.exit_status != 0)
    throw std::runtime_error("wrk failed (" + std::to_string(r.exit_status) + "): " + r.output);
  const auto at = r.output.find("BR2K-WRK ");
  if (at == std::string::npos)
    throw std::runtime_error("wrk printed no figures: " + r.output);
  const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
  WrkFigures f;
  f.requests = static_cast<std::uint64_t>(wrk_detail::field(line, "requests"));
  f.seconds = wrk_detail::field(line, "duration_us") / 1e6;
  f.ops_per_s = f.seconds > 0 ? static_cast<double>(f.requests) / f.seconds : 0;
  f.p50_ms = wrk_detail::field(line, "p50_us") / 1000;
  f.p99_ms = wrk_detail::field(line, "p99_us") / 1000;
  f.mean_ms = wrk_detail::field(line, "mean_us") / 1000;
  f.socket_errors = static_cast<std::uint64_t>(wrk_detail::field(line, "socket_errors"));
  f.bad_status = static_cast<std::uint64_t>(wrk_detail::field(line, "bad"));
  std::smatch m;
  if (std::regex_search(line, m, std::regex(R"(statuses=(\S*))"))) {
    static const std::regex pair(R"((\d+):(\d+))");
    const std::string codes = m[1];
    for (std::sregex_iterator it(codes.begin(), codes.end(), pair), end; it != end; ++it)
      f.statuses[std::stoi((*it)[1])] += std::stoull((*it)[2]);
  }
  return f;
}

}  // namespace br2k::bench
