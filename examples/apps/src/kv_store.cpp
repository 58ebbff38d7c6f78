// KvStore: see kv_store.hpp.
#include <br2k/examples/kv_store.hpp>
#include <nlohmann/json.hpp>

namespace br2k::examples {

using server::Command;
using server::error_reply;
using server::json_reply;
using server::Reply;
using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxKey = 256;
constexpr std::size_t kMaxValue = 64 * 1024;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Whether `s` is well-formed UTF-8 (Unicode, table 3-7: no overlong forms, surrogates or code
// points above U+10FFFF). Keys and values must be: replies and the snapshot are JSON text, which
// can hold nothing else (snapshot() would throw, and a reply would not give the value back).
bool is_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t more = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
    if (b < 0x80) {
      more = 0;
    } else if (b >= 0xc2 && b <= 0xdf) {
      more = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      more = 2;
      lo = b == 0xe0 ? 0xa0 : 0x80;
      hi = b == 0xed ? 0x9f : 0xbf;
    } else if (b >= 0xf0 && b <= 0xf4) {
      more = 3;
      lo = b == 0xf0 ? 0x90 : 0x80;
      hi = b == 0xf4 ? 0x8f : 0xbf;
    } else {
      return false;
    }
    if (s.size() - i - 1 < more)
      return false;
    for (std::size_t k = 1; k <= more; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf))
        return false;
    }
    i += more + 1;
  }
  return true;
}

std::string path_of(std::string_view target) {
  return std::string(target.substr(0, target.find('?')));
}

// The route of a command: the key, and whether it is /kv/<key>/cas.
struct Route {
  bool list = false;
  bool cas = false;
  std::string key;
};

std::optional<Route> route(std::string_view target) {
  auto path = path_of(target);
  if (path == "/kv")
    return Route{.list = true};
  if (!path.starts_with("/kv/"))
    return std::nullopt;
  Route r;
  r.key = path.substr(4);
  if (r.key.size() > 4 && r.key.ends_with("/cas")) {
    r.cas = true;
    r.key.resize(r.key.size() - 4);
  }
  return r;
}

json value_json(const std::string& key, const KvStore::Value& v) {
  return json{{"key", key}, {"value", v.data}, {"version", v.version}, {"index", v.index}};
}

}  // namespace

std::optional<Reply> KvStore::prepare(Command& c) const {
  auto r = route(c.target);
  if (!r)
    return error_reply(404, "no such route: " + path_of(c.target) + " (use /kv/<key>)");
  if (r->list)
    return error_reply(405, "/kv takes GET only");
  if (r->key.empty() || r->key.size() > kMaxKey)
    return error_reply(400, "a key must have 1 to 256 bytes");
  if (!is_utf8(r->key))
    return error_reply(400, "a key must be UTF-8 text");
  if (r->cas) {
    if (c.method != "POST")
      return error_reply(405, "/kv/<key>/cas takes POST");
    auto j = json::parse(c.body, nullptr, false);
    if (!j.is_object() || !j.contains("value") || !j["value"].is_string() ||
        (j.contains("expect") && !j["expect"].is_string() && !j["expect"].is_null()))
      return error_reply(400, "cas body must be {\"expect\": string|null, \"value\": string}");
    if (j["value"].get_ref<const std::string&>().size() > kMaxValue)
      return error_reply(413, "a value may have at most 65536 bytes");
    return std::nullopt;
  }
  if (c.method == "PUT") {
    if (c.body.size() > kMaxValue)
      return error_reply(413, "a value may have at most 65536 bytes");
    if (!is_utf8(c.body))
      return error_reply(400, "a value must be UTF-8 text");
    return std::nullopt;
  }
  if (c.method == "DELETE")
    return std::nullopt;
  return error_reply(405, "use GET, PUT or DELETE on /kv/<key>");
}

Reply KvStore::apply(const Command& c, std::uint64_t index) {
  // prepare() ran on the leader that logged it; check again in case an older leader logged a
  // request this version refuses (apply must not trust the log blindly).
  Command copy = c;
  if (auto refusal = prepare(copy))
    return *refusal;
  auto r = route(c.target);
  if (c.method == "DELETE") {
    const bool deleted = data_.erase(r->key) > 0;
    return json_reply(200, dump(json{{"key", r->key}, {"deleted", deleted}, {"index", index}}));
  }
  std::string value = c.body;
  if (r->cas) {
    auto j = json::parse(c.body);
    auto it = data_.find(r->key);
    const bool expect_absent = !j.contains("expect") || j["expect"].is_null();
    const bool ok =
        expect_absent ? it == data_.end() : it != data_.end() && it->second.data == j["expect"];
    if (!ok) {
      json current = it == data_.end() ? json() : json(it->second.data);
      return json_reply(409, dump(json{{"error", "compare failed"}, {"value", current}}));
    }
    value = j["value"].get<std::string>();
  }
  auto& v = data_[r->key];
  v.data = std::move(value);
  ++v.version;
  v.index = index;
  return json_reply(200, dump(value_json(r->key, v)));
}

Reply KvStore::query(const Command& c) const {
  auto r = route(c.target);
  if (!r)
    return error_reply(404, "no such route: " + path_of(c.target) + " (use /kv/<key>)");
  if (r->list) {
    json keys = json::array();
    for (const auto& [k, v] : data_) {
      if (keys.size() >= 1000)
        break;
      keys.push_back(k);
    }
    return json_reply(200, dump(json{{"count", data_.size()}, {"keys", keys}}));
  }
  if (r->cas)
    return error_reply(405, "/kv/<key>/cas takes POST");
  if (r->key.empty() || r->key.size() > kMaxKey)
    return error_reply(400, "a key must have 1 to 256 bytes");
  auto it = data_.find(r->key);
  if (it == data_.end())
    return error_reply(404, "no such key");
  return json_reply(200, dump(value_json(it->first, it->second)));
}

std::string KvStore::snapshot() const {
  json j = json::object();
  for (const auto& [k, v] : data_)
    j[k] = json::array({v.data, v.version, v.index});
  return j.dump(-1, ' ', false, json::error_handler_t::strict);
}

Result<void> KvStore::restore(std::string_view snapshot) {
  auto j = json::parse(snapshot, nullptr, false);
  if (!j.is_object())
    return Error(Errc::kInvalidArgument, "kv snapshot: not a JSON object");
  std::map<std::string, Value> data;
  for (auto& [k, v] : j.items()) {
    if (!v.is_array() || v.size() != 3 || !v[0].is_string() || !v[1].is_number_unsigned() ||
        !v[2].is_number_unsigned())
      return Error(Errc::kInvalidArgument, "kv snapshot: bad entry for " + k);
    data[k] = Value{v[0].get<std::string>(), v[1].get<std::uint64_t>(), v[2].get<std::uint64_t>()};
  }
  data_ = std::move(data);
  return {};
}

}  // namespace br2k::examples
