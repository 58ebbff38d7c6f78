// Defaults of the application interface: see state_machine.hpp.
#include <br2k/server/state_machine.hpp>
#include <nlohmann/json.hpp>

namespace br2k::server {

Reply json_reply(unsigned status, std::string body) {
  return Reply{status, "application/json", std::move(body)};
}

Reply error_reply(unsigned status, std::string_view reason) {
  nlohmann::json j{{"error", reason}};
  return json_reply(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool StateMachine::is_read_only(const Command& request) const {
  return request.method == "GET" || request.method == "HEAD";
}

std::optional<Reply> StateMachine::prepare(Command&) const {
  return std::nullopt;
}

}  // namespace br2k::server
