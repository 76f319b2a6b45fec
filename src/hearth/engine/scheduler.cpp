// The scheduler thread: admission with prefix reuse, batch building (decode tokens first, then
// prompt chunks oldest request first, within n_batch), one forward pass per step, per-slot
// sampling, streaming decode, stop strings and the end of each request. Prefix reuse keeps what
// a slot's sequence can keep exactly: a KV cache any prefix, a hybrid model's recurrent state
// (summarising all positions at once) all of it, when the prompt extends the slot, or nothing.
#include "hearth/engine/scheduler.h"

#include <algorithm>
#include <chrono>

#include "hearth/base/check.h"
#include "hearth/engine/stop_filter.h"

namespace hearth::engine {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

struct Scheduler::Active {
  Active(GenerationRequest r, std::shared_ptr<Ticket> t, const Engine& engine)
      : request(std::move(r)),
        ticket(std::move(t)),
        sampler(request.sampling, static_cast<int32_t>(engine.config().n_vocab)),
        decoder(engine.tokenizer(),
                generation_decode_options(request.constraint != nullptr, request.preserved_tokens)),
        stops(request.stop) {}

  GenerationRequest request;
  std::shared_ptr<Ticket> ticket;
  sample::Sampler sampler;
  tokenizer::StreamDecoder decoder;
  StopFilter stops;
  GenerationStats stats;
  size_t n_fed = 0;      // prompt tokens in the cache
  int32_t pending = -1;  // sampled, goes into the next batch
  uint64_t order = 0;    // admission order: older prompts are prefilled first
  Clock::time_point admitted;
  Clock::time_point first_sample;
};

Scheduler::Scheduler(Engine& engine, SchedulerOptions options)
    : engine_(engine), options_(options) {}

Result<std::unique_ptr<Scheduler>> Scheduler::create(Engine& engine, SchedulerOptions options) {
  if (options.n_slots < 1) return make_error("the scheduler needs at least one slot");
  if (options.max_queued < 0) return make_error("the queue limit must not be negative");
  if (options.n_batch <= 0) options.n_batch = engine.options().n_ubatch;
  options.n_batch = std::max<int64_t>(options.n_batch, options.n_slots);
  std::unique_ptr<Scheduler> scheduler(new Scheduler(engine, options));
  scheduler->slots_.resize(static_cast<size_t>(options.n_slots));
  for (Slot& slot : scheduler->slots_) {
    HEARTH_ASSIGN_OR_RETURN(slot.sequence,
                            engine.model().new_sequence(engine.n_ctx(), engine.options().kv_type));
  }
  scheduler->stats_.n_slots = options.n_slots;
  scheduler->thread_ = std::thread([s = scheduler.get()] { s->run(); });
  return scheduler;
}

Scheduler::~Scheduler() {
  stop(std::chrono::milliseconds(0));
}

Submitted Scheduler::submit(GenerationRequest request) {
  HEARTH_CHECK(request.on_done != nullptr, "a generation request needs on_done");
  const auto invalid = [](std::string message) {
    return Submitted{Admission::kInvalid, nullptr, std::move(message)};
  };
  if (request.prompt.empty()) return invalid("the prompt is empty");
  if (static_cast<int64_t>(request.prompt.size()) > engine_.n_ctx()) {
    return invalid(fmt::format("the prompt is {} tokens, longer than the context of {} tokens",
                               request.prompt.size(), engine_.n_ctx()));
  }
  if (const Status valid = sample::validate(request.sampling); !valid.ok()) {
    return invalid(valid.error().message());
  }
  auto ticket = std::make_shared<Ticket>();
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) return {Admission::kShuttingDown, nullptr, "the server is shutting down"};
    // Room: the free slots (the request waits only until the next step) plus the queue.
    if (static_cast<int>(queue_.size()) >= options_.max_queued + options_.n_slots - reserved_) {
      return {Admission::kQueueFull, nullptr,
              fmt::format("the queue is full ({} requests waiting)", queue_.size())};
    }
    queue_.push_back({std::move(request), ticket});
    stats_.queued = static_cast<int64_t>(queue_.size());
  }
  wake_.notify_one();
  return {Admission::kAccepted, std::move(ticket), {}};
}

void Scheduler::stop(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(mutex_);
    if (!thread_.joinable()) return;
    accepting_ = false;
    idle_.wait_for(lock, grace, [&] { return queue_.empty() && stats_.active == 0; });
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Scheduler::run() {
  std::vector<Queued> admitted;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      const auto free_slots = [&] {
        return std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.active; });
      };
      const auto busy = [&] { return free_slots() < static_cast<int64_t>(slots_.size()); };
      wake_.wait(lock, [&] { return stopping_ || busy() || !queue_.empty(); });
      if (stopping_) break;
      for (auto n = free_slots(); n > 0 && !queue_.empty(); --n) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
        ++reserved_;
      }
      stats_.queued = static_cast<int64_t>(queue_.size());
    }
    for (Queued& queued : admitted) admit(std::move(queued));
    admitted.clear();
    step();
    {
      std::lock_guard lock(mutex_);
      stats_.active = std::count_if(slots_.begin(), slots_.end(),
                                    [](const Slot& s) { return s.active != nullptr; });
      if (stats_.active == 0 && queue_.empty()) idle_.notify_all();
    }
  }
  cancel_all();
}

void Scheduler::admit(Queued queued) {
  GenerationRequest& request = queued.request;
  if (queued.ticket->cancelled()) {
    GenerationStats stats;
    stats.n_prompt = static_cast<int64_t>(request.prompt.size());
    stats.stop_reason = StopReason::kCancelled;
    {
      std::lock_guard lock(mutex_);
      ++stats_.requests_cancelled;
      --reserved_;
    }
    request.on_done(stats);
    return;
  }
  // The free slot whose cache shares the longest prefix; among equals the least recently used,
  // so that a cache likely to be asked for again survives longest.
  Slot* best = nullptr;
  size_t best_common = 0;
  for (Slot& slot : slots_) {
    if (slot.active) continue;
    // What the slot can keep: at most all but the last prompt token (its logits pick the first
    // generated token), and a recurrent state (hybrid models) whole or not at all.
    const auto common = static_cast<size_t>(slot.sequence->reusable_prefix(static_cast<int64_t>(
        std::min(common_prefix(slot.tokens, request.prompt), request.prompt.size() - 1))));
    if (best == nullptr || common > best_common ||
        (common == best_common && slot.last_used < best->last_used)) {
      best = &slot;
      best_common = common;
    }
  }
  HEARTH_CHECK(best != nullptr, "admit without a free slot");
  const size_t reused = best_common;
  best->sequence->truncate(static_cast<int64_t>(reused));
  best->tokens.resize(reused);

  auto active = std::make_unique<Active>(std::move(request), std::move(queued.ticket), engine_);
  active->sampler.add_history(active->request.prompt);
  active->sampler.set_constraint(active->request.constraint.get());
  active->stats.n_prompt = static_cast<int64_t>(active->request.prompt.size());
  active->stats.n_reused = static_cast<int64_t>(reused);
  active->stats.seed = active->sampler.seed();
  active->n_fed = reused;
  active->order = ++admissions_;
  active->admitted = Clock::now();
  best->active = std::move(active);
  std::lock_guard lock(mutex_);
  stats_.prompt_tokens += static_cast<int64_t>(best->active->request.prompt.size());
  stats_.reused_tokens += static_cast<int64_t>(reused);
}

void Scheduler::step() {
  for (Slot& slot : slots_) {
    if (slot.active && slot.active->ticket->cancelled()) {
      GenerationStats stats = slot.active->stats;
      stats.stop_reason = StopReason::kCancelled;
      finish(slot, stats);
    }
  }
  batch_.clear();
  batch_slots_.clear();
  // (slot, prompt tokens fed) of this batch, applied once the forward pass succeeded.
  std::vector<std::pair<Slot*, size_t>> fed;
  for (Slot& slot : slots_) {
    if (!slot.active || slot.active->pending < 0) continue;
    batch_.push_back({slot.sequence.get(), slot.active->pending, true});
    batch_slots_.push_back(&slot);
  }
  std::vector<Slot*> prefilling;
  for (Slot& slot : slots_) {
    if (slot.active && slot.active->n_fed < slot.active->request.prompt.size()) {
      prefilling.push_back(&slot);
    }
  }
  std::sort(prefilling.begin(), prefilling.end(),
            [](const Slot* a, const Slot* b) { return a->active->order < b->active->order; });
  auto budget = static_cast<size_t>(options_.n_batch) - batch_.size();
  for (Slot* slot : prefilling) {
    if (budget == 0) break;
    const std::vector<int32_t>& prompt = slot->active->request.prompt;
    const size_t begin = slot->active->n_fed;
    const size_t n = std::min(budget, prompt.size() - begin);
    for (size_t i = begin; i < begin + n; ++i) {
      batch_.push_back({slot->sequence.get(), prompt[i], i + 1 == prompt.size()});
    }
    if (begin + n == prompt.size()) batch_slots_.push_back(slot);
    fed.emplace_back(slot, n);
    budget -= n;
  }
  if (batch_.empty()) return;

  const auto start = Clock::now();
  const Status status = engine_.model().forward(batch_, logits_, &engine_.pool());
  if (!status.ok()) {
    // The caches of this batch's slots are in an unknown state: empty them and fail their
    // requests; the other slots carry on.
    for (Slot& slot : slots_) {
      const bool in_batch = std::any_of(batch_.begin(), batch_.end(), [&](const auto& entry) {
        return entry.sequence == slot.sequence.get();
      });
      if (!in_batch || !slot.active) continue;
      slot.sequence->truncate(0);
      slot.tokens.clear();
      finish(slot, status.error());
    }
    return;
  }
  for (Slot* slot : batch_slots_) {
    if (slot->active->pending >= 0) slot->tokens.push_back(slot->active->pending);
    slot->active->pending = -1;
  }
  for (const auto& [slot, n] : fed) {
    const auto& prompt = slot->active->request.prompt;
    const auto begin = prompt.begin() + static_cast<ptrdiff_t>(slot->active->n_fed);
    slot->tokens.insert(slot->tokens.end(), begin, begin + static_cast<ptrdiff_t>(n));
    slot->active->n_fed += n;
  }
  const auto n_vocab = static_cast<size_t>(engine_.config().n_vocab);
  HEARTH_CHECK(logits_.size() == batch_slots_.size() * n_vocab, "logits rows do not match");
  for (size_t row = 0; row < batch_slots_.size(); ++row) {
    sample_slot(*batch_slots_[row], std::span<float>(logits_.data() + row * n_vocab, n_vocab));
  }
  std::lock_guard lock(mutex_);
  ++stats_.forward_passes;
  stats_.busy_seconds += seconds_between(start, Clock::now());
}

void Scheduler::sample_slot(Slot& slot, std::span<float> logits) {
  Active& a = *slot.active;
  if (a.stats.n_generated == 0) {
    a.first_sample = Clock::now();
    a.stats.prompt_seconds = seconds_between(a.admitted, a.first_sample);
  }
  const auto stop = [&](StopReason reason) {
    GenerationStats stats = a.stats;
    stats.stop_reason = reason;
    finish(slot, stats);
  };
  const int32_t token = a.sampler.sample(logits);
  if (token == sample::kNoToken || (!a.request.ignore_eos && engine_.is_end_of_generation(token))) {
    return stop(StopReason::kEndOfGeneration);
  }
  a.sampler.accept(token);
  ++a.stats.n_generated;
  {
    std::lock_guard lock(mutex_);
    ++stats_.generated_tokens;
  }
  auto piece = a.decoder.push(token);
  if (!piece.ok()) return finish(slot, piece.error());
  bool matched = false;
  const std::string ready = a.stops.push(*piece, matched);
  if (!ready.empty() && !a.request.on_text(ready)) return stop(StopReason::kCancelled);
  if (matched) return stop(StopReason::kStopString);
  if (a.request.max_tokens >= 0 && a.stats.n_generated >= a.request.max_tokens) {
    return stop(StopReason::kMaxTokens);
  }
  if (slot.sequence->size() >= slot.sequence->n_ctx()) return stop(StopReason::kContextFull);
  a.pending = token;
}

void Scheduler::finish(Slot& slot, Result<GenerationStats> result) {
  Active& a = *slot.active;
  if (result.ok()) {
    const StopReason reason = result->stop_reason;
    if (reason != StopReason::kStopString && reason != StopReason::kCancelled) {
      bool matched = false;
      std::string rest = a.stops.push(a.decoder.finish(), matched);
      if (!matched) rest += a.stops.flush();
      if (!rest.empty()) a.request.on_text(rest);
    }
    if (result->n_generated > 0) {
      result->generation_seconds = seconds_between(a.first_sample, Clock::now());
    }
  }
  {
    std::lock_guard lock(mutex_);
    --reserved_;
    if (!result.ok()) {
      ++stats_.requests_failed;
    } else if (result->stop_reason == StopReason::kCancelled) {
      ++stats_.requests_cancelled;
    } else {
      ++stats_.requests_finished;
    }
  }
  auto on_done = std::move(a.request.on_done);
  slot.active.reset();
  slot.last_used = ++admissions_;
  on_done(result);
}

void Scheduler::cancel_all() {
  for (Slot& slot : slots_) {
    if (!slot.active) continue;
    GenerationStats stats = slot.active->stats;
    stats.stop_reason = StopReason::kCancelled;
    finish(slot, stats);
  }
  std::deque<Queued> queued;
  {
    std::lock_guard lock(mutex_);
    queued.swap(queue_);
    stats_.queued = 0;
    stats_.active = 0;
  }
  for (Queued& q : queued) {
    q.ticket->cancel();
    {
      std::lock_guard lock(mutex_);
      ++reserved_;  // admit() releases it
    }
    admit(std::move(q));  // ends it as cancelled
  }
}

}  // namespace hearth::engine
