#include "store/postgres/pg.h"

#include <arpa/inet.h>

#include <cstring>
#include <utility>

namespace medvault::store::postgres {
namespace {

// Type OIDs of the built-in types used here (pg_type.h, stable across versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kByteaArrayOid = 1001;

// The advisory lock that serialises migrations of one database ("medvault" in ASCII).
constexpr int64_t kMigrationLock = 0x6d65647661756c74;

uint64_t ToBigEndian64(uint64_t v) {
  return (static_cast<uint64_t>(htonl(static_cast<uint32_t>(v))) << 32) |
         htonl(static_cast<uint32_t>(v >> 32));
}

void Put32(Bytes* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Put16(Bytes* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}

// The first line of PostgreSQL's message: no parameter values (those appear in DETAIL only).
std::string PrimaryMessage(const PGresult* r, PGconn* conn) {
  const char* primary = r != nullptr ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary != nullptr ? primary : PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

Status MapError(const PGresult* r, PGconn* conn, std::string_view what) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string code = state != nullptr ? state : "";
  std::string message = "postgres: " + std::string(what) + ": ";
  if (code == "23505") return AlreadyExists(message + "already exists");
  if (code == "23503") return NotFound(message + "referenced row not found");
  if (PQstatus(conn) != CONNECTION_OK || code.starts_with("08")) {
    return Unavailable(message + "connection lost: " + PrimaryMessage(r, conn));
  }
  if (code == "40001" || code == "40P01" || code == "55P03" || code == "57014" ||
      code == "53300" || code.starts_with("57P")) {
    return Unavailable(message + PrimaryMessage(r, conn));
  }
  return Internal(message + PrimaryMessage(r, conn) + (code.empty() ? "" : " (" + code + ")"));
}

}  // namespace

// ---- Params

void Params::Add(Oid type, const char* value, int length) {
  types_.push_back(type);
  values_.push_back(value);
  lengths_.push_back(length);
  formats_.push_back(1);
  signature_ += std::to_string(type);
  signature_ += ',';
}

Params& Params::Int(int64_t v) {
  ints_.push_back(ToBigEndian64(static_cast<uint64_t>(v)));
  Add(kInt8Oid, reinterpret_cast<const char*>(&ints_.back()), 8);
  return *this;
}

Params& Params::Bool(bool v) {
  static const char kTrue = 1, kFalse = 0;
  Add(kBoolOid, v ? &kTrue : &kFalse, 1);
  return *this;
}

Params& Params::Text(std::string_view v) {
  // A non-null pointer even for "" (a null pointer would mean SQL NULL).
  Add(kTextOid, v.data() != nullptr ? v.data() : "", static_cast<int>(v.size()));
  return *this;
}

Params& Params::OptionalText(std::string_view v) {
  if (v.empty()) {
    Add(kTextOid, nullptr, 0);
    return *this;
  }
  return Text(v);
}

Params& Params::Blob(ByteView v) {
  static const char kEmpty = 0;
  Add(kByteaOid, v.empty() ? &kEmpty : reinterpret_cast<const char*>(v.data()),
      static_cast<int>(v.size()));
  return *this;
}

Params& Params::BlobArray(std::span<const Bytes> v) {
  Bytes& a = owned_.emplace_back();
  Put32(&a, 1);  // dimensions
  Put32(&a, 0);  // no NULLs
  Put32(&a, kByteaOid);
  Put32(&a, static_cast<uint32_t>(v.size()));
  Put32(&a, 1);  // lower bound
  for (const Bytes& b : v) {
    Put32(&a, static_cast<uint32_t>(b.size()));
    a.insert(a.end(), b.begin(), b.end());
  }
  Add(kByteaArrayOid, reinterpret_cast<const char*>(a.data()), static_cast<int>(a.size()));
  return *this;
}

// ---- Rows

bool Rows::IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

int64_t Rows::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(PQgetvalue(r_.get(), row, col));
  const int n = PQgetlength(r_.get(), row, col);
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  // Sign-extend the narrower integer types.
  if (n == 2) return static_cast<int16_t>(v);
  if (n == 4) return static_cast<int32_t>(v);
  return static_cast<int64_t>(v);
}

bool Rows::Bool(int row, int col) const {
  return !IsNull(row, col) && PQgetvalue(r_.get(), row, col)[0] != 0;
}

std::string Rows::Text(int row, int col) const {
  if (IsNull(row, col)) return {};
  return std::string(PQgetvalue(r_.get(), row, col),
                     static_cast<size_t>(PQgetlength(r_.get(), row, col)));
}

Bytes Rows::Blob(int row, int col) const {
  if (IsNull(row, col)) return {};
  const auto* p = reinterpret_cast<const uint8_t*>(PQgetvalue(r_.get(), row, col));
  return Bytes(p, p + PQgetlength(r_.get(), row, col));
}

int64_t Rows::Affected() const {
  const char* n = r_ ? PQcmdTuples(r_.get()) : "";
  return *n == '\0' ? 0 : std::strtoll(n, nullptr, 10);
}

// ---- Connection

Result<std::unique_ptr<Connection>> Connection::Open(const Target& target) {
  PGconn* conn = PQconnectdb(target.url.c_str());
  if (conn == nullptr) return Unavailable("postgres: connect: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's message names the host and the reason, never the password.
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Unavailable("postgres: cannot connect: " + message);
  }
  std::unique_ptr<Connection> c(new Connection(conn));
  std::string setup = "SET lock_timeout = " + std::to_string(target.lock_timeout.count()) +
                      "; SET client_min_messages = warning";
  if (!target.schema.empty()) {
    setup += "; CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(target.schema) +
             "; SET search_path TO " + QuoteIdentifier(target.schema);
  }
  Status s = c->Simple(setup.c_str(), "connection setup");
  if (!s.ok() && !target.schema.empty() && s.code() == Code::kAlreadyExists) {
    // Two connections created the schema at once; it exists now.
    s = c->Simple(("SET search_path TO " + QuoteIdentifier(target.schema)).c_str(),
                  "connection setup");
  }
  MV_RETURN_IF_ERROR(s);
  return c;
}

Connection::~Connection() { PQfinish(conn_); }

Status Connection::Check(PGresult* r, std::string_view what) {
  const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN) {
    return Status::Ok();
  }
  return MapError(r, conn_, what);
}

Result<Rows> Connection::Exec(const std::string& sql, const Params& params,
                              std::string_view what) {
  std::string key = sql;
  key += '\x1f';
  key += params.signature();
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size());
    PGresult* prepared = PQprepare(conn_, name.c_str(), sql.c_str(), params.size(),
                                   params.types());
    Status s = Check(prepared, what);
    PQclear(prepared);
    MV_RETURN_IF_ERROR(s);
    it = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  PGresult* r = PQexecPrepared(conn_, it->second.c_str(), params.size(), params.values(),
                               params.lengths(), params.formats(), 1);
  Status s = Check(r, what);
  if (!s.ok()) {
    PQclear(r);
    return s;
  }
  return Rows(r);
}

Status Connection::Run(const std::string& sql, const Params& params, std::string_view what) {
  return Exec(sql, params, what).status();
}

Status Connection::Simple(const char* sql, std::string_view what) {
  // PQexec returns only the last result of a multi-statement string, and stops at the first error,
  // whose result is then the one returned.
  PGresult* r = PQexec(conn_, sql);
  Status s = Check(r, what);
  PQclear(r);
  return s;
}

Status Connection::CopyIn(const char* sql, ByteView data, std::string_view what) {
  PGresult* r = PQexec(conn_, sql);
  if (r == nullptr || PQresultStatus(r) != PGRES_COPY_IN) {
    Status s = Check(r, what);
    PQclear(r);
    return s.ok() ? Internal("postgres: " + std::string(what) + ": COPY did not start") : s;
  }
  PQclear(r);
  // libpq buffers; send in slices so that one message never exceeds what an int can say.
  constexpr size_t kSlice = 1 << 20;
  for (size_t off = 0; off < data.size(); off += kSlice) {
    const size_t n = std::min(kSlice, data.size() - off);
    if (PQputCopyData(conn_, reinterpret_cast<const char*>(data.data() + off),
                      static_cast<int>(n)) != 1) {
      return MapError(nullptr, conn_, what);
    }
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) return MapError(nullptr, conn_, what);
  Status status = Status::Ok();
  while (PGresult* end = PQgetResult(conn_)) {
    Status s = Check(end, what);
    if (status.ok() && !s.ok()) status = s;
    PQclear(end);
  }
  return status;
}

bool Connection::Idle() const {
  return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool Connection::Broken() const { return PQstatus(conn_) != CONNECTION_OK; }

// ---- CopyBuffer

CopyBuffer::CopyBuffer() { Reset(); }

void CopyBuffer::Reset() {
  static constexpr uint8_t kSignature[] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
  // resize + memcpy rather than insert: GCC 12 misreports the insert of a constant array
  // (-Warray-bounds, as cmake/warnings.cmake notes for its relatives).
  buf_.resize(sizeof kSignature);
  std::memcpy(buf_.data(), kSignature, sizeof kSignature);
  Put32(&buf_, 0);  // flags
  Put32(&buf_, 0);  // header extension length
  tuples_ = 0;
}

void CopyBuffer::Append(const uint8_t* data, size_t size) {
  if (size == 0) return;  // an empty value's data may be null, which memcpy must not be given
  const size_t at = buf_.size();
  buf_.resize(at + size);
  std::memcpy(buf_.data() + at, data, size);
}

void CopyBuffer::BeginTuple(int16_t fields) {
  const uint8_t be[2] = {static_cast<uint8_t>(static_cast<uint16_t>(fields) >> 8),
                         static_cast<uint8_t>(fields)};
  Append(be, sizeof be);
  ++tuples_;
}

void CopyBuffer::Int(int64_t v) {
  uint8_t be[12] = {0, 0, 0, 8};
  for (int i = 0; i < 8; ++i) be[4 + i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (56 - 8 * i));
  Append(be, sizeof be);
}

void CopyBuffer::Bool(bool v) {
  const uint8_t be[5] = {0, 0, 0, 1, static_cast<uint8_t>(v ? 1 : 0)};
  Append(be, sizeof be);
}

void CopyBuffer::Text(std::string_view v) {
  Put32(&buf_, static_cast<uint32_t>(v.size()));
  Append(reinterpret_cast<const uint8_t*>(v.data()), v.size());
}

void CopyBuffer::Blob(ByteView v) {
  Put32(&buf_, static_cast<uint32_t>(v.size()));
  Append(v.data(), v.size());
}

ByteView CopyBuffer::Finish() {
  Put16(&buf_, 0xffff);
  ByteView out(buf_);
  return out;
}

// ---- Pool

Pool::Lease::~Lease() {
  if (conn_ == nullptr) return;
  if (!conn_->Broken() && !conn_->Idle()) {
    // Left inside a transaction (a batch writer destroyed without Commit, an error mid-way).
    conn_->Simple("ROLLBACK", "rollback").IgnoreError();
  }
  pool_->Return(std::move(conn_));
}

Result<Pool::Lease> Pool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + target_.acquire_timeout;
  while (idle_.empty() && open_ >= target_.max_connections) {
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= target_.max_connections) {
      return Unavailable("postgres: every pooled connection is busy");
    }
  }
  if (!idle_.empty()) {
    std::unique_ptr<Connection> conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  Result<std::unique_ptr<Connection>> conn = Connection::Open(target_);
  if (!conn.ok()) {
    std::lock_guard<std::mutex> relock(mu_);
    --open_;
    freed_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(conn).value());
}

void Pool::Return(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn->Idle()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;  // broken: dropped; the next Acquire opens a fresh one
    conn.reset();
  }
  freed_.notify_one();
}

// ---- Transactions and migrations

Status InTransaction(Pool& pool, Isolation isolation,
                     const std::function<Status(Connection&)>& body) {
  MV_ASSIGN_OR_RETURN(Pool::Lease lease, pool.Acquire());
  Connection& conn = lease.conn();
  const char* begin = isolation == Isolation::kSerializable
                          ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                      : isolation == Isolation::kRepeatableRead
                          ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                          : "BEGIN ISOLATION LEVEL READ COMMITTED";
  MV_RETURN_IF_ERROR(conn.Simple(begin, "begin"));
  Status s = body(conn);
  if (!s.ok()) {
    conn.Simple("ROLLBACK", "rollback").IgnoreError();
    return s;
  }
  return conn.Simple("COMMIT", "commit");
}

Result<std::unique_ptr<Pool>> OpenMigratedPool(const PostgresOptions& options,
                                               std::string_view component,
                                               std::span<const Migration> steps) {
  auto pool = std::make_unique<Pool>(Target{options.url, options.schema, options.max_connections,
                                            options.acquire_timeout, options.lock_timeout});
  {
    MV_ASSIGN_OR_RETURN(Pool::Lease lease, pool->Acquire());
    MV_RETURN_IF_ERROR(Migrate(lease.conn(), component, steps));
  }
  return pool;
}

Status Migrate(Connection& conn, std::string_view component, std::span<const Migration> steps) {
  const std::string lock_sql = "SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")";
  const std::string unlock_sql =
      "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")";
  MV_RETURN_IF_ERROR(conn.Simple(lock_sql.c_str(), "migration lock"));
  Status status = [&]() -> Status {
    MV_RETURN_IF_ERROR(conn.Simple(
        "CREATE TABLE IF NOT EXISTS schema_versions ("
        " component text PRIMARY KEY, version bigint NOT NULL)",
        "create schema_versions"));
    Params p;
    p.Text(component);
    MV_ASSIGN_OR_RETURN(
        Rows rows,
        conn.Exec("SELECT version FROM schema_versions WHERE component = $1", p, "schema version"));
    int64_t version = rows.size() > 0 ? rows.Int(0, 0) : 0;
    const int64_t latest = steps.empty() ? 0 : steps.back().version;
    if (version > latest) {
      return FailedPrecondition("postgres: the " + std::string(component) +
                                " schema has version " + std::to_string(version) +
                                ", newer than this build (" + std::to_string(latest) + ")");
    }
    for (const Migration& step : steps) {
      if (step.version <= version) continue;
      MV_RETURN_IF_ERROR(conn.Simple("BEGIN", "migration"));
      Status s = conn.Simple(step.sql, "migration " + std::to_string(step.version));
      if (s.ok()) {
        Params v;
        v.Text(component).Int(step.version);
        s = conn.Run(
            "INSERT INTO schema_versions (component, version) VALUES ($1, $2) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            v, "record schema version");
      }
      if (!s.ok()) {
        conn.Simple("ROLLBACK", "rollback").IgnoreError();
        return s;
      }
      MV_RETURN_IF_ERROR(conn.Simple("COMMIT", "migration commit"));
      version = step.version;
    }
    return Status::Ok();
  }();
  Status unlocked = conn.Simple(unlock_sql.c_str(), "migration unlock");
  MV_RETURN_IF_ERROR(status);
  return unlocked;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace medvault::store::postgres
