// Tests of the test helpers themselves against a real Mosquitto.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/support/mosquitto_broker.h"
#include "tests/support/mqtt_test_client.h"
#include "tests/support/temp_dir.h"

namespace gridwatch::test_support {
namespace {

using std::chrono::milliseconds;

TEST(TempDirTest, WritesReadsAndRemoves) {
  std::string path;
  {
    TempDir dir("gw-support");
    path = dir.path().string();
    dir.Write("a/b.txt", "hello");
    EXPECT_EQ(dir.Read("a/b.txt"), "hello");
    EXPECT_TRUE(std::filesystem::exists(dir.File("a/b.txt")));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(MosquittoBrokerTest, PublishSubscribeRoundTrip) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.running());
  EXPECT_EQ(broker.url(), "tcp://127.0.0.1:" + std::to_string(broker.port()));
  MqttTestClient sub(broker.url());
  sub.Connect();
  sub.Subscribe("t/#", 1);
  MqttTestClient pub(broker.url());
  pub.Connect();
  pub.Publish("t/1", "one", 1);
  pub.Publish("t/2", "two", 0);
  ASSERT_TRUE(sub.WaitFor(2, milliseconds(5000)));
  auto msgs = sub.Messages();
  EXPECT_EQ(msgs[0].topic, "t/1");
  EXPECT_EQ(msgs[0].payload, "one");
  EXPECT_EQ(msgs[0].qos, 1);
  EXPECT_EQ(sub.MessagesOn("t/2").size(), 1u);
}

TEST(MosquittoBrokerTest, RestartKeepsPortAndPersistentSessionQueue) {
  MosquittoBroker broker({.persistence = true});
  const int port = broker.port();
  {
    // A persistent session subscribes, then goes away.
    MqttTestClient sub(broker.url(), {.client_id = "gw-support-sub", .clean_session = false});
    sub.Connect();
    sub.Subscribe("q/#", 1);
    sub.Disconnect();
  }
  MqttTestClient pub(broker.url());
  pub.Connect();
  pub.Publish("q/a", "queued", 1);
  pub.Disconnect();

  broker.Stop();
  EXPECT_FALSE(broker.running());
  broker.Start();
  EXPECT_EQ(broker.port(), port);

  MqttTestClient sub(broker.url(), {.client_id = "gw-support-sub", .clean_session = false});
  sub.Connect();  // no Subscribe: the session and its queued message came back from disk
  ASSERT_TRUE(sub.WaitFor(1, milliseconds(5000))) << broker.ReadLog();
  EXPECT_EQ(sub.Messages()[0].payload, "queued");
}

TEST(MqttTestClientTest, AutomaticReconnectAndOfflineBuffering) {
  MosquittoBroker broker({.persistence = true});
  MqttTestClient sub(
      broker.url(),
      {.client_id = "gw-support-sub2", .clean_session = false, .automatic_reconnect = true});
  sub.Connect();
  sub.Subscribe("r/#", 1);
  MqttTestClient pub(broker.url(), {.client_id = "gw-support-pub2",
                                    .clean_session = false,
                                    .automatic_reconnect = true,
                                    .max_buffered_messages = 1000});
  pub.Connect();
  pub.Publish("r/1", "before", 1);
  ASSERT_TRUE(sub.WaitFor(1, milliseconds(5000)));

  broker.Stop();
  // Wait for the publisher to notice the outage (a real event), then publish into its buffer.
  ASSERT_TRUE(pub.WaitConnected(false, milliseconds(10000)));
  pub.PublishAsync("r/2", "during", 1);
  broker.Start();
  ASSERT_TRUE(pub.WaitForPublished(milliseconds(10000)));
  ASSERT_TRUE(sub.WaitFor(2, milliseconds(10000))) << broker.ReadLog();
  EXPECT_EQ(sub.Messages()[1].payload, "during");
  EXPECT_GE(sub.connect_count(), 2);
}

}  // namespace
}  // namespace gridwatch::test_support
