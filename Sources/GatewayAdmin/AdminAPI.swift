import ConfigurationStore
import Foundation
import Gateway

/// The admin REST API, mounted under `/admin` on the operations listener. Every route but the
/// OpenAPI document needs `Authorization: Bearer <token>` (401 otherwise, reads included). Writes
/// go through `ConfigurationService` (checked, atomic, audited, applied live); `If-Match` and
/// `If-None-Match: *` give optimistic concurrency over the `ETag` of each resource.
public struct AdminAPI: OperationsAdminHandler {
    public let service: ConfigurationService

    public init(service: ConfigurationService) {
        self.service = service
    }

    /// The collections under `/admin/{kind}` (`settings` holds the one document `gateway`).
    static let kinds: [ResourceKind] = [.hostnames, .apis, .policies, .fragments, .namedValues, .certificates, .caCertificates, .crls, .settings,
                                        .products, .subscriptions, .backends, .loggers]

    public func handle(_ request: OperationsRequest) async -> OperationsResponse {
        do {
            return try await route(request)
        } catch let error as AdminError {
            return Self.error(error)
        } catch let error as StoreError {
            return Self.error(Self.adminError(error))
        } catch {
            return Self.error(AdminError(500, "InternalError", "the request failed: \(error)"))
        }
    }

    private func route(_ request: OperationsRequest) async throws -> OperationsResponse {
        let target = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query = target.count > 1 ? String(target[1]) : ""
        var segments: [String] = []
        for raw in target[0].split(separator: "/", omittingEmptySubsequences: true).dropFirst() {
            guard let segment = String(raw).removingPercentEncoding, !segment.isEmpty else {
                throw AdminError.badRequest("the path has an invalid percent-encoding")
            }
            segments.append(segment)
        }
        let method = request.method
        if segments == ["openapi.json"] {
            guard method == "GET" || method == "HEAD" else { throw Self.notAllowed(["GET", "HEAD"]) }
            return OperationsResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(AdminOpenAPI.document.utf8))
        }
        // An admin client certificate (verified in the handshake against operations.tls.adminClientCAs)
        // or a bearer token; nothing else, for reads and writes alike.
        let certificateActor = request.verifiedClientCertificate.map { "certificate:" + $0 }
        var tokenActor: String?
        if certificateActor == nil {
            tokenActor = await AdminTokens.authenticate(authorization: request.header("Authorization"), in: service.store)
        }
        guard let actor = certificateActor ?? tokenActor else {
            return Self.error(AdminError(401, "Unauthorized", "the admin API needs an admin client certificate or 'Authorization: Bearer <token>' with a valid admin token"),
                              extraHeaders: [("WWW-Authenticate", "Bearer realm=\"drawbridge-admin\"")])
        }
        switch segments.first {
        case nil:
            throw AdminError(404, "NoSuchRoute", "see /admin/openapi.json for the routes")
        case "status"?:
            guard segments.count == 1 else { throw AdminError(404, "NoSuchRoute", "no such route (see /admin/openapi.json)") }
            guard method == "GET" || method == "HEAD" else { throw Self.notAllowed(["GET", "HEAD"]) }
            let contents = try await service.store.contents()
            var counts: JSONDocument.Object = [:]
            for kind in Self.kinds { counts[kind.rawValue] = .integer(contents.all(kind).count) }
            return Self.json(200, .object(["revision": .integer(contents.revision), "resources": .object(counts)]))
        case "audit"?:
            guard segments.count == 1 else { throw AdminError(404, "NoSuchRoute", "no such route (see /admin/openapi.json)") }
            guard method == "GET" || method == "HEAD" else { throw Self.notAllowed(["GET", "HEAD"]) }
            var limit = 100
            if let text = Self.queryValue(query, "limit") {
                guard let value = Int(text), (0...10_000).contains(value) else {
                    throw AdminError.badRequest("limit must be an integer from 0 to 10000")
                }
                limit = value
            }
            let records = try await service.store.audit(limit: limit)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return Self.json(200, .array(records.map { record in
                .object(["sequence": .integer(record.sequence), "revision": .integer(record.revision),
                         "at": .string(formatter.string(from: record.at)), "actor": .string(record.actor),
                         "action": .string(record.action), "kind": .string(record.kind), "id": .string(record.id),
                         "etag": record.etag.map(JSONValue.string) ?? .null, "summary": .string(record.summary)])
            }))
        default:
            break
        }
        // /apis/{api}/policy and /apis/{api}/operations/{operation}/policy are policies/api:… and
        // policies/operation:…:…
        if segments.count == 3, segments[0] == "subscriptions" {
            return try await subscriptionAction(id: try ResourceDocuments.validateID(segments[1], kind: .subscriptions),
                                                action: segments[2], method: method, actor: actor)
        }
        var segmentsForResource = segments
        if segments.count == 3, segments[0] == "apis", segments[2] == "policy" {
            segmentsForResource = ["policies", "api:\(segments[1])"]
        } else if segments.count == 3, segments[0] == "products", segments[2] == "policy" {
            segmentsForResource = ["policies", "product:\(segments[1])"]
        } else if segments.count == 5, segments[0] == "apis", segments[2] == "operations", segments[4] == "policy" {
            segmentsForResource = ["policies", "operation:\(segments[1]):\(segments[3])"]
        }
        guard let kind = ResourceKind(rawValue: segmentsForResource[0]), Self.kinds.contains(kind) else {
            throw AdminError(404, "NoSuchRoute", "no such collection '\(segments[0])' (see /admin/openapi.json)")
        }
        if segmentsForResource.count == 1 {
            guard method == "GET" || method == "HEAD" else { throw Self.notAllowed(["GET", "HEAD"]) }
            let contents = try await service.store.contents()
            return Self.json(200, .array(contents.all(kind).map(ResourceDocuments.publicView)))
        }
        guard segmentsForResource.count == 2 else { throw AdminError(404, "NoSuchRoute", "no such route (see /admin/openapi.json)") }
        let id = try ResourceDocuments.validateID(segmentsForResource[1], kind: kind)
        let key = ResourceKey(kind, id)
        switch method {
        case "GET", "HEAD":
            guard let resource = try await service.store.contents().resources[key] else {
                throw AdminError(404, "NotFound", "\(key) does not exist")
            }
            return Self.json(200, ResourceDocuments.publicView(resource), etag: resource.etag)
        case "PUT":
            let existing = try await service.store.contents().resources[key]
            let (document, summary) = try ResourceDocuments.stored(kind: kind, id: id, body: request.body, contentType: request.header("Content-Type"),
                                                                   existing: existing)
            let precondition = try Self.precondition(request)
            let existed = existing != nil
            let applied = try await service.apply([.put(key, document: document, precondition: precondition)], actor: actor, summary: summary)
            guard let resource = try await service.store.contents().resources[key] else {
                throw AdminError(500, "InternalError", "\(key) was committed but cannot be read back")
            }
            return Self.json(existed ? 200 : 201, ResourceDocuments.publicView(resource), etag: resource.etag, applied: applied)
        case "DELETE":
            let precondition = try Self.precondition(request)
            var operations: [StoreOperation] = [.delete(key, precondition: precondition)]
            // An API's policies go with it (in the same change).
            if kind == .apis {
                operations += try await service.store.contents().all(.policies)
                    .filter { $0.key.id == "api:\(id)" || $0.key.id.hasPrefix("operation:\(id):") }
                    .map { .delete($0.key) }
            }
            if kind == .products, try await service.store.contents().resources[ResourceKey(.policies, "product:\(id)")] != nil {
                operations.append(.delete(ResourceKey(.policies, "product:\(id)")))
            }
            let applied = try await service.apply(operations, actor: actor, summary: "\(key) deleted")
            return OperationsResponse(status: 204, headers: Self.appliedHeaders(applied))
        default:
            throw Self.notAllowed(["GET", "HEAD", "PUT", "DELETE"])
        }
    }

    /// `POST /admin/subscriptions/{id}/listSecrets` (the keys, the only place they are shown) and
    /// `…/regeneratePrimaryKey`, `…/regenerateSecondaryKey` (a new random key, applied live; the
    /// old one stops working with the new snapshot). Keys are never in the audit trail or the log.
    private func subscriptionAction(id: String, action: String, method: String, actor: String) async throws -> OperationsResponse {
        let actions = ["listSecrets", "regeneratePrimaryKey", "regenerateSecondaryKey"]
        guard actions.contains(action) else {
            throw AdminError(404, "NoSuchRoute", "no such route: POST /admin/subscriptions/{id}/ listSecrets, regeneratePrimaryKey or regenerateSecondaryKey")
        }
        guard method == "POST" else { throw Self.notAllowed(["POST"]) }
        let key = ResourceKey(.subscriptions, id)
        guard let resource = try await service.store.contents().resources[key] else { throw AdminError(404, "NotFound", "\(key) does not exist") }
        var document = JSONDocument.object(resource.document)
        if action == "listSecrets" {
            return Self.json(200, .object(["primaryKey": document["primaryKey"] ?? .null, "secondaryKey": document["secondaryKey"] ?? .null]))
        }
        let field = action == "regeneratePrimaryKey" ? "primaryKey" : "secondaryKey"
        document[field] = .string(ResourceDocuments.newSubscriptionKey())
        let applied = try await service.apply([.put(key, document: JSONDocument.data(document), precondition: .ifMatch(resource.etag))],
                                              actor: actor, summary: "subscription \(id): \(field == "primaryKey" ? "primary" : "secondary") key regenerated")
        return OperationsResponse(status: 204, headers: Self.appliedHeaders(applied))
    }

    /// 405, with the route's methods (`Allow`, RFC 9110).
    static func notAllowed(_ methods: [String]) -> AdminError {
        AdminError(405, "MethodNotAllowed", "method not allowed on this route; allowed: \(methods.joined(separator: ", "))", allow: methods)
    }

    private static func precondition(_ request: OperationsRequest) throws -> StorePrecondition {
        // (An invalid If-None-Match is refused even when If-Match decides.)
        if let noneMatch = request.header("If-None-Match"), noneMatch.trimmingCharacters(in: .whitespaces) != "*" {
            throw AdminError.badRequest("If-None-Match: only '*' (create only) is supported on writes")
        }
        if let match = request.header("If-Match") {
            let tag = match.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "W/", with: "")
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard !tag.isEmpty, tag != "*" else { return .none }
            return .ifMatch(tag)
        }
        if let noneMatch = request.header("If-None-Match") {
            guard noneMatch.trimmingCharacters(in: .whitespaces) == "*" else {
                throw AdminError.badRequest("If-None-Match: only '*' (create only) is supported on writes")
            }
            return .mustNotExist
        }
        return .none
    }

    private static func queryValue(_ query: String, _ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.first == name { return parts.count > 1 ? parts[1].removingPercentEncoding : "" }
        }
        return nil
    }

    static func adminError(_ error: StoreError) -> AdminError {
        switch error {
        case .preconditionFailed: return AdminError(412, "PreconditionFailed", error.description)
        case .alreadyExists: return AdminError(412, "PreconditionFailed", error.description)
        case .notFound: return AdminError(404, "NotFound", error.description)
        case .revisionChanged: return AdminError(409, "Conflict", error.description)
        case .unusable: return AdminError(503, "StoreUnavailable", error.description)
        }
    }

    private static func appliedHeaders(_ applied: ConfigurationService.Applied) -> [(String, String)] {
        [("X-Drawbridge-Revision", String(applied.commit.revision)),
         ("Server-Timing", String(format: "check;dur=%.2f, commit;dur=%.2f, reload;dur=%.2f",
                                  applied.checkMilliseconds, applied.commitMilliseconds, applied.reloadMilliseconds))]
    }

    static func json(_ status: Int, _ value: JSONValue, etag: String? = nil, applied: ConfigurationService.Applied? = nil) -> OperationsResponse {
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        if let etag { headers.append(("ETag", "\"\(etag)\"")) }
        if let applied {
            headers += appliedHeaders(applied)
            if !applied.warnings.isEmpty { headers.append(("X-Drawbridge-Warnings", String(applied.warnings.count))) }
        }
        var body = JSONDocument.data(value, pretty: true)
        body.append(0x0A)
        return OperationsResponse(status: status, headers: headers, body: Array(body))
    }

    static func error(_ error: AdminError, extraHeaders: [(String, String)] = []) -> OperationsResponse {
        var object: JSONDocument.Object = ["code": .string(error.code), "message": .string(error.message)]
        if !error.details.isEmpty { object["details"] = .array(error.details.map(JSONValue.string)) }
        var response = json(error.status, .object(["error": .object(object)]))
        response.headers += extraHeaders
        if let allow = error.allow { response.headers.append(("Allow", allow.joined(separator: ", "))) }
        return response
    }
}
