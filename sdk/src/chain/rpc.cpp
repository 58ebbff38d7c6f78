// The free helpers of the Rpc seam. See rpc.hpp.
#include <br2k/chain/rpc.hpp>

namespace br2k::chain {

Task<Result<Json>> call(Rpc& rpc, std::string method, Json params, Deadline deadline) {
  auto reply = co_await rpc.request(method, std::move(params), deadline);
  if (!reply)
    co_return reply.error();
  if (reply->error) {
    co_return Error(Errc::kServerError, method + ": " + std::to_string(reply->error->code) + " " +
                                            reply->error->message);
  }
  co_return json_value(std::move(reply->result));
}

}  // namespace br2k::chain
