// A socket shared by pipelining: the line of replies, the writer's and the reader's turns, deadlines.
#include "store/redis/redis_pipeline.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include <hiredis/read.h>
#include <sys/socket.h>

namespace memtrace::redis {
namespace {

// The command and its arguments as the Redis protocol (RESP) sends them, appended to `out`.
void append_command(std::string& out, const std::vector<std::string_view>& args) {
  out.push_back('*');
  out.append(std::to_string(args.size()));
  out.append("\r\n");
  for (auto arg : args) {
    out.push_back('$');
    out.append(std::to_string(arg.size()));
    out.append("\r\n");
    out.append(arg);
    out.append("\r\n");
  }
}

}  // namespace

// A call's place in the line of replies.
struct Pipeline::Slot {
  std::condition_variable answered;  // the reply came, the socket broke, or it is this call's turn to read
  ReplyPtr reply;
  std::optional<Error> error;
  bool done = false;
  bool abandoned = false;  // its caller gave up (or it is an ASKING): the reply is dropped
  bool waiting = false;    // its caller is in wait_locked (one sent by send() may not be yet)
};

std::shared_ptr<Pipeline> Pipeline::create(std::unique_ptr<DirectConnection> connection) {
  return std::shared_ptr<Pipeline>(new Pipeline(std::move(connection)));
}

Pipeline::Pipeline(std::unique_ptr<DirectConnection> connection)
    : connection_(std::move(connection)),
      fd_(connection_->fd()),
      command_timeout_(connection_->endpoint().command_timeout) {}

Pipeline::~Pipeline() = default;

std::size_t Pipeline::waiting() const {
  std::lock_guard lock(mutex_);
  return line_.size();
}

bool Pipeline::check_idle() {
  std::lock_guard lock(mutex_);
  if (retired_ || broken_) return false;
  if (!line_.empty() || writer_busy_ || reader_busy_) return true;
  pollfd pfd{};
  pfd.fd = fd_;
  pfd.events = POLLIN;
  if (::poll(&pfd, 1, 0) != 0) {  // an idle socket has nothing to read: data, EOF, an error all retire it
    retired_ = true;
    return false;
  }
  return true;
}

Result<ReplyPtr> Pipeline::call(const std::vector<std::string_view>& args, bool asking,
                                std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (broken_) return tl::unexpected(*broken_);
  auto mine = line_up_locked(args, asking);
  if (!writer_busy_) write_locked(lock);
  return wait_locked(lock, mine, deadline);
}

Result<std::vector<Pipeline::Ticket>> Pipeline::send_all(
    const std::vector<std::vector<std::string_view>>& commands) {
  std::unique_lock lock(mutex_);
  if (broken_) return tl::unexpected(*broken_);
  std::vector<Ticket> tickets;
  tickets.reserve(commands.size());
  for (const auto& args : commands)
    tickets.push_back(Ticket(shared_from_this(), line_up_locked(args, false)));
  if (!writer_busy_) write_locked(lock);
  return tickets;
}

Result<ReplyPtr> Pipeline::wait(Ticket& ticket, std::chrono::steady_clock::time_point deadline) {
  auto slot = std::move(ticket.slot_);
  ticket.pipeline_.reset();
  if (!slot)
    return tl::unexpected(Error{ErrorCode::kInternal, "bug: a pipeline ticket was waited for twice"});
  std::unique_lock lock(mutex_);
  return wait_locked(lock, slot, deadline);
}

Pipeline::Ticket::~Ticket() {
  if (!pipeline_ || !slot_) return;
  std::unique_lock lock(pipeline_->mutex_);
  pipeline_->abandon_locked(slot_);
}

std::shared_ptr<Pipeline::Slot> Pipeline::line_up_locked(const std::vector<std::string_view>& args,
                                                         bool asking) {
  auto mine = std::make_shared<Slot>();
  if (asking) {
    auto asked = std::make_shared<Slot>();
    asked->abandoned = true;
    append_command(outgoing_, {"ASKING"});
    line_.push_back(std::move(asked));
  }
  append_command(outgoing_, args);
  line_.push_back(mine);
  return mine;
}

Result<ReplyPtr> Pipeline::wait_locked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Slot>& mine,
                                       std::chrono::steady_clock::time_point deadline) {
  mine->waiting = true;
  while (!mine->done) {
    if (std::chrono::steady_clock::now() >= deadline) {
      mine->waiting = false;
      // Give up this call's place: its reply, when it comes, is dropped. Retire the pipeline, so that
      // new calls do not line up behind a reply that may never come; if this call was reading, the
      // next one waiting takes over.
      abandon_locked(mine);
      return tl::unexpected(
          map_transport_error(endpoint(), Phase::kCommand, REDIS_ERR_IO, "timed out", ETIMEDOUT));
    }
    if (!reader_busy_) {
      read_locked(lock, mine, deadline);
    } else {
      mine->answered.wait_until(lock, deadline);
    }
  }
  mine->waiting = false;
  if (mine->error) return tl::unexpected(*mine->error);
  return std::move(mine->reply);
}

void Pipeline::abandon_locked(const std::shared_ptr<Slot>& slot) {
  if (slot->done) return;
  slot->abandoned = true;
  retired_ = true;
  if (!reader_busy_) pass_reading_locked();
}

void Pipeline::write_locked(std::unique_lock<std::mutex>& lock) {
  writer_busy_ = true;
  while (!outgoing_.empty() && !broken_) {
    writing_buffer_.clear();
    writing_buffer_.swap(outgoing_);
    lock.unlock();
    const char* data = writing_buffer_.data();
    std::size_t left = writing_buffer_.size();
    int saved_errno = 0;
    while (left > 0) {
      // Blocking, bounded by the socket's send timeout (the command timeout) if Redis stops reading.
      ssize_t n = ::send(fd_, data, left, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        saved_errno = n < 0 ? errno : EPIPE;
        break;
      }
      data += n;
      left -= static_cast<std::size_t>(n);
    }
    lock.lock();
    if (left > 0) {
      break_locked(map_transport_error(endpoint(), Phase::kCommand, REDIS_ERR_IO, std::strerror(saved_errno),
                                       saved_errno));
    }
  }
  // A large command (an import's batch) leaves no large buffer behind.
  if (writing_buffer_.capacity() > kKeptBufferBytes) std::string().swap(writing_buffer_);
  if (outgoing_.capacity() > kKeptBufferBytes) std::string().swap(outgoing_);
  writer_busy_ = false;
}

void Pipeline::read_locked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Slot>& mine,
                           std::chrono::steady_clock::time_point deadline) {
  reader_busy_ = true;
  redisReader* reader = connection_->context()->reader;
  char buffer[16 * 1024];
  std::vector<ReplyPtr> replies;
  while (!mine->done && !broken_) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;  // call() gives up
    lock.unlock();
    // A reader with nearly the whole command timeout left (the usual case) blocks in recv(), bounded by
    // the socket's timeout, which is the command timeout: one system call. One with less left first
    // waits in poll() for what is left. Rounded up, so that a wait never ends just before the deadline.
    int ready = 1;
    if (left + kSlack < command_timeout_) {
      const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      pollfd pfd{};
      pfd.fd = fd_;
      pfd.events = POLLIN;
      ready = ::poll(&pfd, 1, static_cast<int>(wait_ms));
    }
    replies.clear();
    std::optional<Error> failure;
    if (ready < 0 && errno != EINTR) {
      failure = map_transport_error(endpoint(), Phase::kCommand, REDIS_ERR_IO, std::strerror(errno), errno);
    } else if (ready > 0) {
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      const int saved_errno = errno;
      if (n == 0) {
        failure = map_transport_error(endpoint(), Phase::kCommand, REDIS_ERR_EOF,
                                      "Server closed the connection", 0);
      } else if (n < 0 && saved_errno != EINTR && saved_errno != EAGAIN && saved_errno != EWOULDBLOCK) {
        failure = map_transport_error(endpoint(), Phase::kCommand, REDIS_ERR_IO, std::strerror(saved_errno),
                                      saved_errno);
      } else if (n > 0) {
        if (redisReaderFeed(reader, buffer, static_cast<std::size_t>(n)) != REDIS_OK) {
          failure = map_transport_error(endpoint(), Phase::kCommand, REDIS_ERR_PROTOCOL, reader->errstr, 0);
        }
        while (!failure) {
          void* raw = nullptr;
          if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
            failure = map_transport_error(endpoint(), Phase::kCommand, REDIS_ERR_PROTOCOL, reader->errstr, 0);
            break;
          }
          if (!raw) break;  // no complete reply buffered
          replies.emplace_back(static_cast<redisReply*>(raw));
        }
      }
    }
    lock.lock();
    for (auto& reply : replies) {
      if (line_.empty()) {  // Redis answered something nobody asked: the line cannot be trusted
        failure = Error{ErrorCode::kInternal,
                        "redis store " + endpoint().description + " sent a reply nobody asked for"};
        break;
      }
      auto slot = std::move(line_.front());
      line_.pop_front();
      slot->done = true;
      if (slot->abandoned) continue;  // its caller gave up (or it answers an ASKING): dropped
      slot->reply = std::move(reply);
      if (slot != mine) slot->answered.notify_one();
    }
    if (failure) break_locked(*failure);
  }
  reader_busy_ = false;
  pass_reading_locked();
}

void Pipeline::pass_reading_locked() {
  // To the first call waiting: one sent and not waited for yet reads when its caller comes to wait.
  for (const auto& slot : line_) {
    if (slot->waiting) {
      slot->answered.notify_one();
      return;
    }
  }
}

void Pipeline::break_locked(const Error& error) {
  if (!broken_) broken_ = error;
  retired_ = true;
  for (auto& slot : line_) {
    slot->done = true;
    if (!slot->abandoned) {
      slot->error = error;
      slot->answered.notify_one();
    }
  }
  line_.clear();
  outgoing_.clear();
}

Result<ReplyPtr> PipelinedConnection::command(const std::vector<std::string_view>& args,
                                              std::string* raw_error) {
  last_error_reply_.clear();
  const Endpoint& endpoint = pipeline_->endpoint();
  const auto deadline = call_deadline(endpoint.command_timeout);
  if (deadline <= std::chrono::steady_clock::now()) return tl::unexpected(not_sent_in_time(endpoint));
  auto reply = pipeline_->call(args, asking_, deadline);
  if (!reply) {
    broken_ = true;
    return tl::unexpected(reply.error());
  }
  return answer(endpoint, std::move(*reply), raw_error);
}

Result<SentCommand> PipelinedConnection::send(const std::vector<std::string_view>& args) {
  auto sent = send_all({args});
  if (!sent) return tl::unexpected(sent.error());
  return std::move(sent->front());
}

Result<std::vector<SentCommand>> PipelinedConnection::send_all(
    const std::vector<std::vector<std::string_view>>& commands) {
  const Endpoint& endpoint = pipeline_->endpoint();
  const auto deadline = call_deadline(endpoint.command_timeout);
  if (deadline <= std::chrono::steady_clock::now()) return tl::unexpected(not_sent_in_time(endpoint));
  auto tickets = pipeline_->send_all(commands);
  if (!tickets) {
    broken_ = true;
    return tl::unexpected(tickets.error());
  }
  std::vector<SentCommand> sent;
  sent.reserve(tickets->size());
  for (auto& ticket : *tickets) sent.push_back(SentCommand(pipeline_, std::move(ticket), deadline));
  return sent;
}

Result<ReplyPtr> SentCommand::get(std::string* raw_error) {
  auto reply = pipeline_->wait(ticket_, deadline_);
  if (!reply) return tl::unexpected(reply.error());
  if ((*reply)->type != REDIS_REPLY_ERROR) return reply;
  if (raw_error) raw_error->assign((*reply)->str, (*reply)->len);
  return tl::unexpected(map_redis_error(pipeline_->endpoint(), Phase::kCommand, nullptr, 0, reply->get()));
}

bool SentCommand::sent_on(const PipelinedConnection& connection) const {
  return pipeline_.get() == connection.pipeline();
}

}  // namespace memtrace::redis
