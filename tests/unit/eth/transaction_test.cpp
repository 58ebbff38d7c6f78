// Transactions: published signing vectors (EIP-155's own example, ethereumjs's EIP-1559 vectors),
// hand-computed signing data, round trips through the decoder, and hostile input.
#include <gtest/gtest.h>

#include <br2k/eth/rlp.hpp>
#include <br2k/eth/transaction.hpp>
#include <string>
#include <vector>

namespace br2k::eth {
namespace {

Bytes hex(std::string_view h) {
  return from_hex(h).value();
}

U256 dec(std::string_view digits) {
  return U256::from_decimal(digits).value();
}

Address address(std::string_view h) {
  return parse_address(h).value();
}

// ---- EIP-155 ----------------------------------------------------------------------------------

// The example of https://eips.ethereum.org/EIPS/eip-155 (ethereum/EIPs, EIPS/eip-155.md).
LegacyTransaction eip155_example() {
  LegacyTransaction tx;
  tx.nonce = 9;
  tx.gas_price = U256::from_uint64(20'000'000'000);
  tx.gas_limit = 21000;
  tx.to = address("0x3535353535353535353535353535353535353535");
  tx.value = dec("1000000000000000000");
  tx.chain_id = 1;
  return tx;
}
constexpr std::string_view kEip155Key =
    "0x4646464646464646464646464646464646464646464646464646464646464646";
constexpr std::string_view kEip155SigningData =
    "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080";
constexpr std::string_view kEip155SigningHash =
    "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53";
constexpr std::string_view kEip155Raw =
    "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a0"
    "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b"
    "3800ccf555c9f3dc64214b297fb1966a3b6d83";

TEST(LegacyTransaction, Eip155ExampleMatchesTheEipByteForByte) {
  const LegacyTransaction tx = eip155_example();
  EXPECT_EQ(to_hex(signing_data(tx)), kEip155SigningData);
  EXPECT_EQ(to_hex(signing_hash(tx)), kEip155SigningHash);

  auto key = PrivateKey::from_hex(kEip155Key).value();
  auto signature = key.sign(signing_hash(tx));
  ASSERT_TRUE(signature) << signature.error();
  // (v, r, s) = (37, 1851...3846, 4694...6531) in the EIP's decimal.
  EXPECT_EQ(signature->y_parity, 0);  // v = 0 + 1 * 2 + 35
  EXPECT_EQ(U256{signature->r},
            dec("18515461264373351373200002665853028612451056578545711640558177340181847433846"));
  EXPECT_EQ(U256{signature->s},
            dec("46948507304638947509940763649030358759909902576025900602547168820602576006531"));

  auto raw = sign(tx, key);
  ASSERT_TRUE(raw) << raw.error();
  EXPECT_EQ(to_hex(*raw), kEip155Raw);
}

TEST(LegacyTransaction, Eip155ExampleDecodesToItsFieldsAndSender) {
  const Bytes raw = hex(kEip155Raw);
  auto decoded = decode_transaction(raw);
  ASSERT_TRUE(decoded) << decoded.error();
  const auto* tx = std::get_if<LegacyTransaction>(&decoded->transaction);
  ASSERT_NE(tx, nullptr);
  EXPECT_EQ(*tx, eip155_example());
  EXPECT_EQ(decoded->signature.y_parity, 0);
  EXPECT_EQ(decoded->sender, PrivateKey::from_hex(kEip155Key).value().address());
  EXPECT_EQ(decoded->hash, transaction_hash(raw));
  EXPECT_EQ(decoded->hash, keccak256(ByteView(raw)));
}

TEST(LegacyTransaction, PreEip155RoundTripsWithV27Or28) {
  auto key = PrivateKey::from_hex(kEip155Key).value();
  for (std::uint64_t nonce = 0; nonce < 4; ++nonce) {
    LegacyTransaction tx = eip155_example();
    tx.chain_id.reset();
    tx.nonce = nonce;
    tx.to.reset();  // contract creation
    tx.data = hex("6080604052");
    // Pre-155 signing data is the six fields only.
    EXPECT_EQ(rlp::decode(signing_data(tx)).value().items.size(), 6u);
    auto raw = sign(tx, key);
    ASSERT_TRUE(raw) << raw.error();
    auto decoded = decode_transaction(*raw);
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(std::get<LegacyTransaction>(decoded->transaction), tx);
    EXPECT_EQ(decoded->sender, key.address());
    // v is the 7th field: 27 or 28.
    auto item = rlp::decode(*raw).value();
    ASSERT_EQ(item.items[6].string.size(), 1u);
    EXPECT_EQ(item.items[6].string[0], 27 + decoded->signature.y_parity);
  }
}

TEST(LegacyTransaction, LargeChainIdsRoundTripAndTooLargeOnesAreRefused) {
  auto key = PrivateKey::from_hex(kEip155Key).value();
  for (std::uint64_t chain_id : {std::uint64_t{0}, std::uint64_t{31337}, kMaxLegacyChainId}) {
    LegacyTransaction tx = eip155_example();
    tx.chain_id = chain_id;
    auto raw = sign(tx, key);
    ASSERT_TRUE(raw) << raw.error();
    auto decoded = decode_transaction(*raw);
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(std::get<LegacyTransaction>(decoded->transaction), tx);
    EXPECT_EQ(decoded->sender, key.address());
  }
  LegacyTransaction tx = eip155_example();
  tx.chain_id = kMaxLegacyChainId + 1;
  auto refused = sign(tx, key);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is_error(refused.error(), TxError::kChainIdTooLarge)) << refused.error();
}

// ---- EIP-1559 ---------------------------------------------------------------------------------

// ethereumjs-monorepo, packages/tx/test/json/eip1559.json (commit 052242cc97fa): chain id 7822
// (0x1e8e), to 0x...aaaa, empty data and access list, one key. The file gives each signed
// transaction wrapped in an RLP string header (b8 7x ...), as transactions sit inside a block;
// the raw transaction is that string's payload.
struct Eip1559Vector {
  std::uint64_t nonce;
  std::uint64_t value;
  std::uint64_t gas_limit;
  std::uint64_t max_priority_fee_per_gas;  // "maxInclusionFeePerGas" in the file
  std::uint64_t max_fee_per_gas;
  std::string_view signed_rlp;
};
constexpr std::string_view kEthereumjsKey =
    "0x8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63";
constexpr Eip1559Vector kEthereumjsVectors[] = {
    {819, 43203529, 35552, 75853, 121212,
     "b87302f870821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000aaaa8402933"
     "b"
     "c980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b78b472e0a01d305af9fe81fdba4"
     "3"
     "f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e"},
    {353, 61901619, 32593, 38850, 136295,
     "b87202f86f821e8e8201618297c283021467827f5194000000000000000000000000000000000000aaaa8403b08b3"
     "3"
     "80c001a004205678f13fc1d7b10feea6513dfa76e24418b6e08097d95c6f93a3b64e536da01d45ad61bfece43862d"
     "e"
     "2cce7d2575a8c1d08c26c87f3cb5f26d7b0be54a91b2"},
    {985, 32531825, 68541, 66377, 136097,
     "b87402f871821e8e8203d983010349830213a183010bbd94000000000000000000000000000000000000aaaa8401f"
     "0"
     "657180c001a0e6d23c5ecc0f388a4d41a9523c3ad171e98083a61288c340b968dfe0903a6741a07319e8d54a4fd8f"
     "0"
     "c081d3ce093d869f9df598481991c8534bfd8f2c163884b4"},
    {623, 21649799, 57725, 74140, 81173,
     "b87302f870821e8e82026f8301219c83013d1582e17d94000000000000000000000000000000000000aaaa84014a5"
     "9"
     "8780c080a0b107893e4590e177e244493a3f2b59d63619ddd82772105d8c96b7fc85ff683da07dc9b9dc054d2f69f"
     "9"
     "cc540688f6c0da3b54dd8bd8323f06d0ca26b546a480f1"},
    {972, 94563383, 65254, 42798, 103466,
     "b87202f86f821e8e8203cc82a72e8301942a82fee694000000000000000000000000000000000000aaaa8405a2ec3"
     "7"
     "80c080a02596bfedd3101f7e3c881eec060f83c60617fb21173ff41a560e02c9c23f02f4a01ef1f7930d31081c06d"
     "f"
     "d2176046a99442a88678638a33eb80afa8d2d3389ee0"},
    {588, 99359647, 37274, 87890, 130273,
     "b87302f870821e8e82024c830157528301fce182919a94000000000000000000000000000000000000aaaa8405ec1"
     "b"
     "9f80c001a0404a06f2a9ba9d444e59f03e1b4ce46c4d7127342aa287a6e9a910b26ff6cc89a04af28549efdfb3e74"
     "6"
     "938d01c92785e9852eb58c48d6f35cc99961e88f56603a"},
    {900, 30402257, 76053, 8714, 112705,
     "b87302f870821e8e82038482220a8301b8418301291594000000000000000000000000000000000000aaaa8401cfe"
     "6"
     "d180c080a06e1bc9e4645de8bdad2c60424539c2dd93aacbc06ae94e440629b133a99e9ba7a03d23fdfdd9934c77f"
     "e"
     "5385a6b4b6c69e84cdec7814a19d81e648b5852ee5f7eb"},
    {709, 6478043, 28335, 86252, 94636,
     "b87202f86f821e8e8202c5830150ec830171ac826eaf94000000000000000000000000000000000000aaaa8362d8d"
     "b"
     "80c001a09880d133cd636f8c8dce32e2c43494b9f2dc000eee8dc61931e09f866ed04b46a00e44d5c503c7f08b36c"
     "8"
     "b062c32a963f3dd20a71e95e3d903bfbe7f4da47cd47"},
    {939, 2782905, 45047, 45216, 91648,
     "b87102f86e821e8e8203ab82b0a08301660082aff794000000000000000000000000000000000000aaaa832a76b98"
     "0"
     "c001a0a0e7d9b07c7ec68f24788a554f993b99d59a3f08439cc6c942f62ea0341f2aeba078122b9957c146f7c8781"
     "1"
     "bd58a7e9916ca8c07dabcf875b97bbdef79cb9c197"},
    {119, 65456115, 62341, 24721, 107729,
     "b87002f86d821e8e778260918301a4d182f38594000000000000000000000000000000000000aaaa8403e6c7f380c"
     "0"
     "01a0e38e239770801eb995498c821e55ac9c19ae09184bb27b34be105e02fe3b7615a067c64ca6bd6d9107e85fd58"
     "1"
     "ab2e70a14b637eb36505bb40861ef9d6e800cab6"},
};

Eip1559Transaction from_vector(const Eip1559Vector& v) {
  Eip1559Transaction tx;
  tx.chain_id = 7822;
  tx.nonce = v.nonce;
  tx.max_priority_fee_per_gas = U256::from_uint64(v.max_priority_fee_per_gas);
  tx.max_fee_per_gas = U256::from_uint64(v.max_fee_per_gas);
  tx.gas_limit = v.gas_limit;
  tx.to = address("0x000000000000000000000000000000000000aaaa");
  tx.value = U256::from_uint64(v.value);
  return tx;
}

Bytes unwrap(std::string_view signed_rlp) {
  const Bytes wrapped = hex(signed_rlp);
  ByteView in = wrapped;
  ByteView raw = rlp::decode_string(in).value();
  EXPECT_TRUE(rlp::expect_end(in));
  return Bytes(raw.begin(), raw.end());
}

TEST(Eip1559Transaction, EthereumjsVectorsSignByteForByte) {
  auto key = PrivateKey::from_hex(kEthereumjsKey).value();
  for (const Eip1559Vector& v : kEthereumjsVectors) {
    const Bytes expected = unwrap(v.signed_rlp);
    auto raw = sign(from_vector(v), key);
    ASSERT_TRUE(raw) << raw.error();
    EXPECT_EQ(to_hex(*raw), to_hex(expected)) << "nonce " << v.nonce;
  }
}

TEST(Eip1559Transaction, EthereumjsVectorsDecodeToTheirFieldsAndSigner) {
  const Address signer = PrivateKey::from_hex(kEthereumjsKey).value().address();
  for (const Eip1559Vector& v : kEthereumjsVectors) {
    const Bytes raw = unwrap(v.signed_rlp);
    auto decoded = decode_transaction(raw);
    ASSERT_TRUE(decoded) << decoded.error();
    const auto* tx = std::get_if<Eip1559Transaction>(&decoded->transaction);
    ASSERT_NE(tx, nullptr);
    EXPECT_EQ(*tx, from_vector(v));
    EXPECT_EQ(decoded->sender, signer);
    EXPECT_EQ(decoded->hash, keccak256(ByteView(raw)));
    EXPECT_EQ(encode_signed(*tx, decoded->signature).value(), raw);
  }
}

TEST(Eip1559Transaction, SigningDataLayoutByHand) {
  Eip1559Transaction tx;
  tx.chain_id = 1;
  tx.nonce = 0;
  tx.max_priority_fee_per_gas = U256::from_uint64(1);
  tx.max_fee_per_gas = U256::from_uint64(2);
  tx.gas_limit = 21000;
  tx.to.reset();  // contract creation: the empty string
  tx.value = U256{};
  tx.data = hex("deadbeef");
  // 0x02 || rlp([1, 0, 1, 2, 21000, "", 0, 0xdeadbeef, []]):
  //   01 | 80 | 01 | 02 | 82 5208 | 80 | 80 | 84 deadbeef | c0  = 15 bytes -> list header cf
  EXPECT_EQ(to_hex(signing_data(tx)), "02cf01800102825208808084deadbeefc0");
  EXPECT_EQ(signing_hash(tx), keccak256(ByteView(hex("02cf01800102825208808084deadbeefc0"))));

  // With a recipient and a value that needs 32 bytes:
  //   01 | 80 | 01 | 02 | 82 5208 | 94 <20 bytes> | a0 <32 bytes> | 80 | c0  = 63 bytes, >= 56,
  //   so the list header takes the long form f8 3f.
  tx.to = address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  tx.value = U256::from_int64(-1);
  tx.data.clear();
  EXPECT_EQ(to_hex(signing_data(tx)),
            "02f83f01800102825208"
            "94f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
            "a0" +
                std::string(64, 'f') + "80c0");
}

TEST(Eip1559Transaction, SignedLayoutAppendsParityRAndS) {
  auto key = PrivateKey::from_hex(kEthereumjsKey).value();
  Eip1559Transaction tx = from_vector(kEthereumjsVectors[0]);
  const Bytes raw = sign(tx, key).value();
  const Signature signature = key.sign(signing_hash(tx)).value();
  // The signed list's items are the nine signing fields, then y_parity, r and s.
  const Bytes unsigned_data = signing_data(tx);  // the decoded items point into it
  auto signed_list = rlp::decode(ByteView(raw).subspan(1)).value();
  auto signing_list = rlp::decode(ByteView(unsigned_data).subspan(1)).value();
  ASSERT_EQ(signed_list.items.size(), 12u);
  for (std::size_t i = 0; i < 9; ++i)
    EXPECT_EQ(rlp::encode(signed_list.items[i]), rlp::encode(signing_list.items[i])) << i;
  EXPECT_EQ(U256::from_be(signed_list.items[9].string).value(),
            U256::from_uint64(signature.y_parity));
  EXPECT_EQ(U256::from_be(signed_list.items[10].string).value(), U256{signature.r});
  EXPECT_EQ(U256::from_be(signed_list.items[11].string).value(), U256{signature.s});
}

TEST(Eip1559Transaction, RoundTripsContractCreationAndLargeValues) {
  auto key = PrivateKey::from_hex(kEthereumjsKey).value();
  Eip1559Transaction tx;
  tx.chain_id = 31337;
  tx.nonce = ~std::uint64_t{0} - 1;
  tx.max_priority_fee_per_gas = U256::from_int64(-1);
  tx.max_fee_per_gas = U256::from_int64(-1);
  tx.gas_limit = 30'000'000;
  tx.data = Bytes(1000, 0x5b);
  auto raw = sign(tx, key);
  ASSERT_TRUE(raw) << raw.error();
  auto decoded = decode_transaction(*raw);
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(std::get<Eip1559Transaction>(decoded->transaction), tx);
  EXPECT_EQ(decoded->sender, key.address());
  EXPECT_EQ(decoded->hash, transaction_hash(*raw));
}

// ---- Hostile input ----------------------------------------------------------------------------

// n - s: the same signature with s in the upper half (and the other parity), which EIP-2 refuses.
std::array<std::uint8_t, 32> negate(const std::array<std::uint8_t, 32>& s) {
  constexpr std::array<std::uint8_t, 32> n = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                              0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
                                              0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
                                              0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
  std::array<std::uint8_t, 32> out{};
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = n[i] - s[i] - borrow;
    borrow = d < 0;
    out[i] = static_cast<std::uint8_t>(d + (borrow ? 256 : 0));
  }
  return out;
}

// A type-2 transaction's 12 fields as RLP items, to be tampered with one at a time.
std::vector<Bytes> eip1559_items() {
  const Bytes raw = unwrap(kEthereumjsVectors[0].signed_rlp);
  auto list = rlp::decode(ByteView(raw).subspan(1)).value();
  std::vector<Bytes> items;
  for (const auto& item : list.items)
    items.push_back(rlp::encode(item));
  return items;
}

Bytes typed(std::uint8_t type, const std::vector<Bytes>& items) {
  rlp::ListEncoder list;
  for (const Bytes& item : items)
    list.add_raw(item);
  Bytes out{type};
  list.append_list_to(out);
  return out;
}

Bytes legacy(const std::vector<Bytes>& items) {
  rlp::ListEncoder list;
  for (const Bytes& item : items)
    list.add_raw(item);
  return list.list();
}

std::vector<Bytes> legacy_items() {
  const Bytes raw = hex(kEip155Raw);  // the decoded items point into it
  auto list = rlp::decode(raw).value();
  std::vector<Bytes> items;
  for (const auto& item : list.items)
    items.push_back(rlp::encode(item));
  return items;
}

Bytes uint_item(std::uint64_t v) {
  Bytes out;
  rlp::encode_uint(out, v);
  return out;
}

Bytes string_item(ByteView s) {
  Bytes out;
  rlp::encode_string(out, s);
  return out;
}

TEST(DecodeTransaction, ReassembledVectorsStillDecode) {  // the tampering helpers are faithful
  EXPECT_TRUE(decode_transaction(typed(0x02, eip1559_items())));
  EXPECT_TRUE(decode_transaction(legacy(legacy_items())));
}

TEST(DecodeTransaction, EnvelopeFaultsAreTyped) {
  const Bytes valid = unwrap(kEthereumjsVectors[0].signed_rlp);
  struct Case {
    const char* name;
    Bytes raw;
    TxError error;
  };
  Bytes type1 = valid;
  type1[0] = 0x01;
  Bytes type3 = valid;
  type3[0] = 0x03;
  const Case kCases[] = {
      {"empty", {}, TxError::kEmpty},
      {"access-list type 0x01", type1, TxError::kUnsupportedType},
      {"blob type 0x03", type3, TxError::kUnsupportedType},
      {"type 0x7f", {0x7f, 0xc0}, TxError::kUnsupportedType},
      {"an RLP string", hex(kEthereumjsVectors[0].signed_rlp), TxError::kUnsupportedType},
  };
  for (const Case& c : kCases) {
    auto r = decode_transaction(c.raw);
    ASSERT_FALSE(r) << c.name;
    EXPECT_TRUE(is_error(r.error(), c.error)) << c.name << ": " << r.error();
  }
  // The type byte alone: the list is missing.
  auto type_only = decode_transaction(Bytes{0x02});
  ASSERT_FALSE(type_only);
  EXPECT_TRUE(is_error(type_only.error(), RlpError::kInputTooShort)) << type_only.error();
}

TEST(DecodeTransaction, TruncationsAndExtraBytesAreRlpErrors) {
  for (const Bytes& valid : {unwrap(kEthereumjsVectors[0].signed_rlp), hex(kEip155Raw)}) {
    for (std::size_t n = 1; n < valid.size(); ++n) {
      auto r = decode_transaction(ByteView(valid).first(n));
      ASSERT_FALSE(r) << n;
      EXPECT_TRUE(r.error().is(Errc::kInvalidArgument)) << n << ": " << r.error();
    }
    auto truncated = decode_transaction(ByteView(valid).first(valid.size() - 1));
    EXPECT_TRUE(is_error(truncated.error(), RlpError::kInputTooShort)) << truncated.error();

    Bytes extra = valid;
    extra.push_back(0x00);
    auto r = decode_transaction(extra);
    ASSERT_FALSE(r);
    EXPECT_TRUE(is_error(r.error(), RlpError::kTrailingBytes)) << r.error();
  }
}

TEST(DecodeTransaction, FieldFaultsAreTyped) {
  const std::vector<Bytes> good = eip1559_items();
  const std::vector<Bytes> good_legacy = legacy_items();
  auto with = [](std::vector<Bytes> items, std::size_t i, Bytes item) {
    items[i] = std::move(item);
    return items;
  };
  auto without_last = [](std::vector<Bytes> items) {
    items.pop_back();
    return items;
  };
  auto with_extra = [](std::vector<Bytes> items) {
    items.push_back(Bytes{0x80});
    return items;
  };
  const Bytes nineteen(19, 0x35);
  const Bytes nine_byte_nonce = string_item(Bytes(9, 0x01));
  const Bytes access_list = hex("d7d694000000000000000000000000000000000000aaaac0");
  struct Case {
    const char* name;
    Bytes raw;
    Error expected;
  };
  const Case kCases[] = {
      {"11 fields", typed(2, without_last(good)), make_error(TxError::kFieldCount)},
      {"13 fields", typed(2, with_extra(good)), make_error(TxError::kFieldCount)},
      {"legacy 8 fields", legacy(without_last(good_legacy)), make_error(TxError::kFieldCount)},
      {"legacy as type 2", typed(2, good_legacy), make_error(TxError::kFieldCount)},
      {"chain id as a list", typed(2, with(good, 0, {0xc0})),
       make_error(RlpError::kUnexpectedList)},
      {"nonce with a leading zero", typed(2, with(good, 1, hex("82000a"))),
       make_error(RlpError::kLeadingZero)},
      {"nonce wider than 64 bits", typed(2, with(good, 1, nine_byte_nonce)),
       make_error(RlpError::kOverflow)},
      {"to of 19 bytes", typed(2, with(good, 5, string_item(nineteen))),
       make_error(TxError::kBadRecipient)},
      {"to as a list", typed(2, with(good, 5, {0xc0})), make_error(RlpError::kUnexpectedList)},
      {"data as a list", typed(2, with(good, 7, {0xc0})), make_error(RlpError::kUnexpectedList)},
      {"access list as a string", typed(2, with(good, 8, {0x80})),
       make_error(RlpError::kUnexpectedString)},
      {"non-empty access list", typed(2, with(good, 8, access_list)),
       make_error(TxError::kAccessListNotEmpty)},
      {"y parity 2", typed(2, with(good, 9, uint_item(2))), make_error(TxError::kBadV)},
      {"r zero", typed(2, with(good, 10, uint_item(0))), make_error(TxError::kBadSignature)},
      {"s zero", typed(2, with(good, 11, uint_item(0))), make_error(TxError::kBadSignature)},
      {"r off the curve", typed(2, with(good, 10, uint_item(5))),
       make_error(TxError::kUnrecoverable)},
      {"r of 33 bytes", typed(2, with(good, 10, string_item(Bytes(33, 0x01)))),
       make_error(RlpError::kOverflow)},
      {"legacy v 0", legacy(with(good_legacy, 6, uint_item(0))), make_error(TxError::kBadV)},
      {"legacy v 29", legacy(with(good_legacy, 6, uint_item(29))), make_error(TxError::kBadV)},
      {"legacy v 34", legacy(with(good_legacy, 6, uint_item(34))), make_error(TxError::kBadV)},
      {"legacy v 2^64 - 1", legacy(with(good_legacy, 6, uint_item(~std::uint64_t{0}))),
       make_error(TxError::kChainIdTooLarge)},
      {"legacy v wider than 64 bits", legacy(with(good_legacy, 6, string_item(Bytes(9, 0x01)))),
       make_error(RlpError::kOverflow)},
  };
  for (const Case& c : kCases) {
    auto r = decode_transaction(c.raw);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().message(), c.expected.message()) << c.name;
  }
}

TEST(DecodeTransaction, HighSIsRefused) {
  // The EIP-155 example with s replaced by n - s and the parity flipped: the same point, a valid
  // ECDSA signature, but not canonical (EIP-2).
  auto decoded = decode_transaction(hex(kEip155Raw)).value();
  Signature high = decoded.signature;
  high.s = negate(high.s);
  high.y_parity ^= 1;
  EXPECT_FALSE(is_canonical(high));
  // ecrecover itself accepts it and finds the same signer...
  const auto& tx = std::get<LegacyTransaction>(decoded.transaction);
  EXPECT_EQ(recover_address(signing_hash(tx), high).value(), decoded.sender);
  // ...but a transaction carrying it is refused.
  auto raw = encode_signed(tx, high).value();
  auto r = decode_transaction(raw);
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_error(r.error(), TxError::kBadSignature)) << r.error();
}

TEST(DecodeTransaction, TamperedFieldsRecoverAnotherSender) {
  auto decoded = decode_transaction(hex(kEip155Raw)).value();
  auto tx = std::get<LegacyTransaction>(decoded.transaction);
  tx.value = U256::from_uint64(2);
  auto raw = encode_signed(tx, decoded.signature).value();
  auto tampered = decode_transaction(raw);
  ASSERT_TRUE(tampered) << tampered.error();
  EXPECT_NE(tampered->sender, decoded.sender);
}

TEST(DecodeTransaction, SingleByteMutationsNeverCrash) {
  // Bounded: every byte of two vectors xor-ed with three masks (~700 inputs).
  for (const Bytes& valid : {unwrap(kEthereumjsVectors[1].signed_rlp), hex(kEip155Raw)}) {
    for (std::size_t i = 0; i < valid.size(); ++i) {
      for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
        Bytes mutated = valid;
        mutated[i] ^= mask;
        auto r = decode_transaction(mutated);
        if (r) {
          EXPECT_EQ(r->hash, keccak256(ByteView(mutated)));
        } else {
          EXPECT_TRUE(r.error().is(Errc::kInvalidArgument)) << r.error();
        }
      }
    }
  }
}

TEST(EncodeSigned, RefusesParityAboveOne) {
  Signature s;
  s.y_parity = 2;
  auto typed_tx = encode_signed(Eip1559Transaction{}, s);
  ASSERT_FALSE(typed_tx);
  EXPECT_TRUE(is_error(typed_tx.error(), TxError::kBadV));
  auto legacy_tx = encode_signed(LegacyTransaction{}, s);
  ASSERT_FALSE(legacy_tx);
  EXPECT_TRUE(is_error(legacy_tx.error(), TxError::kBadV));
}

}  // namespace
}  // namespace br2k::eth
