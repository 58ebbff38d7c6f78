// Test base for the etcd client: a suite-wide shared cluster (AsyncTest: async_test.hpp).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/etcd/client.hpp>
#include <br2k/net/task.hpp>
#include <br2k/testing/etcd_cluster.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "../async_test.hpp"

namespace br2k::testing {

// A test suite whose tests share one three-member cluster, started once for the suite.
class SharedClusterTest : public ::testing::Test, public AsyncTest {
 protected:
  static void SetUpTestSuite() { cluster_ = new EtcdCluster(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  etcd::Client client() {
    return etcd::Client(io_.get_executor(), {.endpoints = cluster_->client_urls()});
  }
  static inline EtcdCluster* cluster_ = nullptr;
};

}  // namespace br2k::testing
