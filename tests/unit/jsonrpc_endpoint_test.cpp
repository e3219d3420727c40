// The endpoint's guarantees: one answer per request, none for notifications or cancelled requests,
// batches answered as one array, duplicates refused.
#include <functional>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "jsonrpc/endpoint.h"

namespace memtrace::jsonrpc {
namespace {

class RecordingOutbound : public Outbound {
 public:
  void send(OutboundMessage message) override {
    std::unique_lock lock(mutex);
    sent.push_back(Json::parse(message.text));
    relations.push_back(message.related);
    kinds.push_back(message.kind);
    errors.push_back(message.is_error);
    tool_errors.push_back(message.is_tool_error);
    lock.unlock();
    if (on_send) on_send();
  }
  std::function<void()> on_send;  // called after each message is recorded, with the lock released
  std::mutex mutex;
  std::vector<Json> sent;
  std::vector<std::optional<Id>> relations;
  std::vector<OutboundMessage::Kind> kinds;
  std::vector<bool> errors;
  std::vector<bool> tool_errors;
};

struct EndpointTest : ::testing::Test {
  RecordingOutbound out;
  std::vector<Reply> parked;  // requests whose handler answers later
  std::vector<std::string> notifications;
  bool batches = false;
  Endpoint endpoint{out, Endpoint::Handlers{
                             [this](Request r, Reply reply) {
                               if (r.method == "echo") return reply.result(r.params);
                               if (r.method == "failed") return reply.result(Json::object(), true);
                               if (r.method == "park") return parked.push_back(std::move(reply));
                               if (r.method == "forget") return;  // a buggy handler that never answers
                               if (r.method == "throw") throw std::runtime_error("store exploded");
                               reply.error(kMethodNotFound, "Method not found");
                             },
                             [this](Notification n) {
                               if (n.method == "throw") throw std::runtime_error("boom");
                               notifications.push_back(n.method);
                             },
                             [this] { return batches; },
                         }};
};

TEST_F(EndpointTest, RequestGetsExactlyOneAnswerWithItsId) {
  endpoint.receive(R"({"jsonrpc":"2.0","id":"a","method":"echo","params":{"x":1}})");
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(out.sent[0]["id"], "a");
  EXPECT_EQ(out.sent[0]["result"]["x"], 1);
  EXPECT_EQ(out.relations[0], Id(std::string("a")));
  EXPECT_EQ(endpoint.in_flight(), 0u);
}

TEST_F(EndpointTest, NotificationsAreNeverAnswered) {
  endpoint.receive(R"({"jsonrpc":"2.0","method":"notifications/whatever"})");
  endpoint.receive(R"({"jsonrpc":"2.0","method":"echo"})");
  EXPECT_TRUE(out.sent.empty());
  EXPECT_EQ(notifications.size(), 2u);
}

TEST_F(EndpointTest, ForgottenReplyBecomesInternalError) {
  endpoint.receive(R"({"jsonrpc":"2.0","id":5,"method":"forget"})");
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(out.sent[0]["id"], 5);
  EXPECT_EQ(out.sent[0]["error"]["code"], kInternalError);
}

TEST_F(EndpointTest, SecondAnswerIsDropped) {
  endpoint.receive(R"({"jsonrpc":"2.0","id":1,"method":"park"})");
  parked[0].result(Json::object());
  parked[0].error(kInternalError, "again");
  EXPECT_EQ(out.sent.size(), 1u);
  EXPECT_TRUE(out.sent[0].contains("result"));
}

TEST_F(EndpointTest, CancelledRequestGetsNoAnswer) {
  endpoint.receive(R"({"jsonrpc":"2.0","id":1,"method":"park"})");
  EXPECT_EQ(endpoint.in_flight(), 1u);
  endpoint.cancel(Id(1));
  EXPECT_TRUE(parked[0].cancelled());
  parked[0].result(Json::object());
  EXPECT_TRUE(out.sent.empty());
  EXPECT_EQ(endpoint.in_flight(), 0u);
  EXPECT_TRUE(endpoint.wait_idle(std::chrono::milliseconds(1)));
}

TEST_F(EndpointTest, CancellingUnknownIdIsIgnored) {
  endpoint.cancel(Id(99));
  endpoint.receive(R"({"jsonrpc":"2.0","id":1,"method":"echo"})");
  EXPECT_EQ(out.sent.size(), 1u);
}

TEST_F(EndpointTest, DuplicateIdInFlightIsRefused) {
  endpoint.receive(R"({"jsonrpc":"2.0","id":1,"method":"park"})");
  endpoint.receive(R"({"jsonrpc":"2.0","id":1,"method":"echo"})");
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(out.sent[0]["error"]["code"], kInvalidRequest);
  parked[0].result(Json::object());
  // Once answered, the id may be used again.
  endpoint.receive(R"({"jsonrpc":"2.0","id":1,"method":"echo"})");
  EXPECT_TRUE(out.sent.back().contains("result"));
}

// A client may send a new request with an answered request's id the moment it reads the answer; that is
// a new request, not a duplicate, however soon it comes.
TEST_F(EndpointTest, AnIdIsFreeForANewRequestTheMomentItsAnswerIsSent) {
  std::size_t busy_while_sending = 0;
  out.on_send = [&] {
    if (out.sent.size() != 1) return;
    busy_while_sending = endpoint.in_flight();
    endpoint.receive(R"({"jsonrpc":"2.0","id":7,"method":"echo","params":{"n":2}})");
  };
  endpoint.receive(R"({"jsonrpc":"2.0","id":7,"method":"echo","params":{"n":1}})");
  ASSERT_EQ(out.sent.size(), 2u);
  EXPECT_EQ(out.sent[0]["result"]["n"], 1);
  EXPECT_EQ(out.sent[1]["result"]["n"], 2) << out.sent[1].dump();
  EXPECT_EQ(busy_while_sending, 1u) << "an answer on its way still counts, so a drain waits for it";
  EXPECT_EQ(endpoint.in_flight(), 0u);
}

TEST_F(EndpointTest, WaitIdleTimesOutWhileARequestIsInFlight) {
  endpoint.receive(R"({"jsonrpc":"2.0","id":1,"method":"park"})");
  EXPECT_FALSE(endpoint.wait_idle(std::chrono::milliseconds(10)));
  parked[0].result(Json::object());
  EXPECT_TRUE(endpoint.wait_idle(std::chrono::milliseconds(10)));
}

TEST_F(EndpointTest, BatchRejectedUnlessAllowed) {
  endpoint.receive(R"([{"jsonrpc":"2.0","id":1,"method":"echo"}])");
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_TRUE(out.sent[0].is_object());
  EXPECT_EQ(out.sent[0]["error"]["code"], kInvalidRequest);
}

TEST_F(EndpointTest, BatchAnsweredAsOneArrayOnceEveryRequestIsDone) {
  batches = true;
  endpoint.receive(R"([{"jsonrpc":"2.0","id":1,"method":"echo"},{"jsonrpc":"2.0","method":"n"},)"
                   R"({"jsonrpc":"2.0","id":2,"method":"park"},{"bad":true}])");
  EXPECT_TRUE(out.sent.empty());  // waits for the parked one
  parked[0].result({{"late", true}});
  ASSERT_EQ(out.sent.size(), 1u);
  ASSERT_TRUE(out.sent[0].is_array());
  EXPECT_EQ(out.sent[0].size(), 3u);  // two requests and one invalid item; the notification has none
}

TEST_F(EndpointTest, BatchOfOnlyNotificationsSendsNothing) {
  batches = true;
  endpoint.receive(R"([{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}])");
  EXPECT_TRUE(out.sent.empty());
  EXPECT_EQ(notifications.size(), 2u);
}

TEST_F(EndpointTest, CancelledBatchItemStillLetsTheRestGoOut) {
  batches = true;
  endpoint.receive(R"([{"jsonrpc":"2.0","id":1,"method":"echo"},{"jsonrpc":"2.0","id":2,"method":"park"}])");
  endpoint.cancel(Id(2));
  parked[0].result(Json::object());
  ASSERT_EQ(out.sent.size(), 1u);
  ASSERT_EQ(out.sent[0].size(), 1u);
  EXPECT_EQ(out.sent[0][0]["id"], 1);
}

TEST_F(EndpointTest, NotifyCarriesTheRelatedRequest) {
  endpoint.notify("notifications/progress", {{"progress", 1}}, Id(3));
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_FALSE(out.sent[0].contains("id"));
  EXPECT_EQ(out.relations[0], Id(3));
}

TEST_F(EndpointTest, AHandlerThatThrowsIsAnsweredInternalErrorOnceAndTheEndpointLivesOn) {
  EXPECT_NO_THROW(endpoint.receive(R"({"jsonrpc":"2.0","id":9,"method":"throw"})"));
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(out.sent[0]["id"], 9);
  EXPECT_EQ(out.sent[0]["error"]["code"], kInternalError);
  EXPECT_EQ(out.sent[0]["error"]["message"], "Internal error");
  EXPECT_EQ(endpoint.in_flight(), 0u);
  // The id is free again and the endpoint answers the next request.
  endpoint.receive(R"({"jsonrpc":"2.0","id":9,"method":"echo","params":{"y":2}})");
  ASSERT_EQ(out.sent.size(), 2u);
  EXPECT_EQ(out.sent[1]["result"]["y"], 2);
}

TEST_F(EndpointTest, ANotificationHandlerThatThrowsIsContained) {
  EXPECT_NO_THROW(endpoint.receive(R"({"jsonrpc":"2.0","method":"throw"})"));
  EXPECT_TRUE(out.sent.empty());
  endpoint.receive(R"({"jsonrpc":"2.0","method":"after"})");
  EXPECT_EQ(notifications, std::vector<std::string>{"after"});
}

// What a message is travels with it, so that a transport never parses its own output to route it.
TEST_F(EndpointTest, OutboundMessagesSayWhatTheyAre) {
  endpoint.receive(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{}})");
  endpoint.receive(R"({"jsonrpc":"2.0","id":2,"method":"nope"})");
  endpoint.receive(R"({"jsonrpc":"2.0","id":3,"method":"failed"})");
  endpoint.notify("notifications/progress", Json::object(), Id(3));
  endpoint.call("sampling/createMessage", Json::object(), Id(3), [](const Json&, const auto&) {});
  ASSERT_EQ(out.sent.size(), 5u);
  using Kind = OutboundMessage::Kind;
  EXPECT_EQ(out.kinds, (std::vector<Kind>{Kind::kResponse, Kind::kResponse, Kind::kResponse,
                                          Kind::kNotification, Kind::kRequest}));
  EXPECT_EQ(out.errors, (std::vector<bool>{false, true, false, false, false}));
  EXPECT_EQ(out.tool_errors, (std::vector<bool>{false, false, true, false, false}));
  EXPECT_EQ(out.relations[0], Id(1));
  EXPECT_EQ(out.relations[4], Id(3));

  batches = true;
  endpoint.receive(R"([{"jsonrpc":"2.0","id":4,"method":"echo"},{"jsonrpc":"2.0","id":5,"method":"nope"}])");
  ASSERT_EQ(out.sent.size(), 6u);
  EXPECT_EQ(out.kinds[5], Kind::kBatch);
  EXPECT_TRUE(out.errors[5]) << "a batch with an error answer says so";
  EXPECT_EQ(out.relations[5], Id(4));
}

}  // namespace
}  // namespace memtrace::jsonrpc
