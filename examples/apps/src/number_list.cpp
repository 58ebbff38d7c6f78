// NumberList: see number_list.hpp.
#include <br2k/examples/number_list.hpp>
#include <nlohmann/json.hpp>
#include <random>

namespace br2k::examples {

using server::Command;
using server::error_reply;
using server::json_reply;
using server::Reply;
using json = nlohmann::json;

namespace {

constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << 53) - 1;  // exact in JSON numbers

std::string path_of(std::string_view target) {
  return std::string(target.substr(0, target.find('?')));
}

std::optional<std::uint64_t> value_of(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("value") || !j["value"].is_number_unsigned())
    return std::nullopt;
  auto v = j["value"].get<std::uint64_t>();
  if (v > kMaxValue)
    return std::nullopt;
  return v;
}

}  // namespace

std::optional<Reply> NumberList::prepare(Command& c) const {
  auto path = path_of(c.target);
  if (path != "/numbers")
    return error_reply(404, "no such route: " + path + " (use /numbers)");
  if (c.method != "POST")
    return error_reply(405, "use POST to add a number, GET to read the list");
  if (c.body.empty()) {
    // The random draw happens once, here on the leader; the number travels in the log entry.
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    c.body = json{{"value", rng() % 1'000'000}}.dump();
    c.content_type = "application/json";
    return std::nullopt;
  }
  if (!value_of(c.body))
    return error_reply(400, "body must be empty or {\"value\": N} with 0 <= N < 2^53");
  return std::nullopt;
}

Reply NumberList::apply(const Command& c, std::uint64_t index) {
  auto v = value_of(c.body);
  if (path_of(c.target) != "/numbers" || c.method != "POST" || !v)
    return error_reply(400, "not a number request");
  values_.push_back(*v);
  return json_reply(200, json{{"value", *v}, {"count", values_.size()}, {"index", index}}.dump());
}

Reply NumberList::query(const Command& c) const {
  auto path = path_of(c.target);
  if (path == "/numbers")
    return json_reply(200, json{{"count", values_.size()}, {"values", values_}}.dump());
  if (path == "/numbers/count")
    return json_reply(200, json{{"count", values_.size()}}.dump());
  return error_reply(404, "no such route: " + path + " (use /numbers)");
}

std::string NumberList::snapshot() const {
  return json(values_).dump();
}

Result<void> NumberList::restore(std::string_view snapshot) {
  auto j = json::parse(snapshot, nullptr, false);
  if (!j.is_array())
    return Error(Errc::kInvalidArgument, "numbers snapshot: not a JSON array");
  std::vector<std::uint64_t> values;
  for (const auto& v : j) {
    if (!v.is_number_unsigned())
      return Error(Errc::kInvalidArgument, "numbers snapshot: not a number");
    values.push_back(v.get<std::uint64_t>());
  }
  values_ = std::move(values);
  return {};
}

}  // namespace br2k::examples
