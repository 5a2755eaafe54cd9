// MosquittoBroker: a real Mosquitto broker for integration tests, started by the test as a child
// process on a free loopback port with a generated configuration in its own temp directory
// (listener PORT 127.0.0.1, allow_anonymous true, persistence only when asked). Stop() and Start()
// again keep the same port, so clients with automatic reconnect find it again; with persistence
// on, persistent sessions and their queued QoS 1 messages survive the restart.
//
// Confined to the thread that created it (the child gets SIGKILL if that thread exits).
#pragma once

#include <sys/types.h>

#include <string>

#include "tests/support/temp_dir.h"

namespace gridwatch::test_support {

struct MosquittoBrokerOptions {
  // Keep sessions and queued messages in <dir>/mosquitto.db across Stop()/Start().
  bool persistence = false;
  // Extra lines appended to the generated mosquitto.conf.
  std::string extra_config;
  // Start in the constructor (otherwise call Start()).
  bool start = true;
  // Bound on waiting for the port to accept connections / the process to exit.
  int timeout_ms = 10000;
  // The broker binary.
  std::string binary = "/usr/sbin/mosquitto";
};

class MosquittoBroker {
 public:
  // Picks a free loopback port, writes the config and (by default) starts the broker.
  // Throws std::runtime_error (with the broker log) if it does not come up in time.
  explicit MosquittoBroker(MosquittoBrokerOptions options = {});
  // Kills the broker (SIGKILL) if still running and removes the temp dir.
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Starts the broker on port() and blocks until the port accepts TCP connections (bounded by
  // timeout_ms). No-op if running. Throws std::runtime_error on failure.
  void Start();
  // SIGTERM and wait for the process to exit (SIGKILL after timeout_ms). With persistence, the
  // broker writes its database on this clean exit. No-op if not running.
  void Stop();
  // SIGKILL and reap: a crash, nothing saved since the last autosave.
  void Kill();

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  // "tcp://127.0.0.1:PORT".
  std::string url() const;
  const TempDir& dir() const { return dir_; }
  std::string config_path() const;
  // The broker's stdout/stderr so far (for failure messages).
  std::string ReadLog() const;

 private:
  void WriteConfig();
  bool WaitForExit(int timeout_ms);

  MosquittoBrokerOptions options_;
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Returns a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
int PickFreeLoopbackPort();

}  // namespace gridwatch::test_support
