// A CPU limit on one process for the length of a benchmark section: a cgroup of its own with a
// CFS quota (what `docker run --cpus` and Kubernetes' CPU limits set), under cgroup v1's `cpu`
// hierarchy or cgroup v2's unified one, whichever this machine lets us write.
//
// proxy_bench uses it to make the leader the bottleneck, as when the service, not the host a
// sidecar proxy shares with its client, is what runs out of CPU. The kernel does the limiting;
// written by hand rather than with libcgroup (Debian's libcgroup-dev): the interface is a handful
// of file writes in one benchmark, not worth a dependency.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace br2k::bench {

class CpuCap {
 public:
  // Limits `pid` (all its threads) to `percent` of one CPU, in periods of `period_us`.
  // Throws std::runtime_error saying why when the machine does not allow it.
  CpuCap(pid_t pid, int percent, int period_us = 10'000) : pid_(pid) {
    namespace fs = std::filesystem;
    const long quota_us = std::max<long>(1000, long{period_us} * percent / 100);
    const std::string name = "br2k-bench-" + std::to_string(::getpid());
    std::string why;
    // cgroup v1: a `cpu` hierarchy of its own.
    if (fs::exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")) {
      parent_ = "/sys/fs/cgroup/cpu";
      dir_ = parent_ / name;
      if (make_dir(why) && write(dir_ / "cpu.cfs_period_us", std::to_string(period_us), why) &&
          write(dir_ / "cpu.cfs_quota_us", std::to_string(quota_us), why) &&
          write(dir_ / "cgroup.procs", std::to_string(pid), why))
        return;
      remove();
    }
    // cgroup v2: the unified hierarchy, with the cpu controller enabled for children.
    for (const fs::path root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
      if (!fs::exists(root / "cgroup.subtree_control"))
        continue;
      parent_ = root;
      dir_ = root / name;
      std::string ignored;
      write(root / "cgroup.subtree_control", "+cpu", ignored);  // may already be on
      if (make_dir(why) &&
          write(dir_ / "cpu.max", std::to_string(quota_us) + " " + std::to_string(period_us),
                why) &&
          write(dir_ / "cgroup.procs", std::to_string(pid), why))
        return;
      remove();
    }
    throw std::runtime_error(
        "cannot limit a process's CPU here (no writable cgroup cpu "
        "controller)" +
        (why.empty() ? std::string() : ": " + why));
  }

  CpuCap(const CpuCap&) = delete;
  CpuCap& operator=(const CpuCap&) = delete;
  ~CpuCap() { remove(); }

 private:
  bool make_dir(std::string& why) {
    std::error_code ec;
    std::filesystem::create_directory(dir_, ec);
    if (ec)
      why = dir_.string() + ": " + ec.message();
    return !ec;
  }

  static bool write(const std::filesystem::path& file, const std::string& value, std::string& why) {
    std::ofstream out(file);
    out << value << std::flush;
    if (!out)
      why = "cannot write " + value + " to " + file.string();
    return static_cast<bool>(out);
  }

  // The process goes back to the parent group (if it still runs), then the group is removed: a
  // cgroup directory can be removed only once no process is in it.
  void remove() {
    if (dir_.empty())
      return;
    std::string ignored;
    if (::kill(pid_, 0) == 0)
      write(parent_ / "cgroup.procs", std::to_string(pid_), ignored);
    std::error_code ec;
    std::filesystem::remove(dir_, ec);
    dir_.clear();
  }

  pid_t pid_;
  std::filesystem::path parent_;
  std::filesystem::path dir_;
};

}  // namespace br2k::bench
