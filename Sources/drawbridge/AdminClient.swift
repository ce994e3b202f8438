import ArgumentParser
import Foundation
import Gateway

/// The admin API as `drawbridge admin` uses it: JSON over HTTP with the bearer token.
struct AdminClient {
    let baseURL: String
    let token: String

    struct Answer {
        let status: Int
        let etag: String?
        let body: Data
        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func call(_ method: String, _ path: String, body: Data? = nil, contentType: String = "application/json",
              headers: [String: String] = [:]) async throws -> Answer {
        // The gateway's own HTTP client (no FoundationNetworking in the executable: see OneShotHTTPClient).
        var fields: [(String, String)] = [("Authorization", "Bearer \(token)")]
        fields += headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if body != nil { fields.append(("Content-Type", contentType)) }
        let client = try OneShotHTTPClient()
        do {
            let response = try await client.send(method: method, url: baseURL + path, headers: fields, body: body.map { [UInt8]($0) })
            await client.shutdown()
            return Answer(status: response.status, etag: response.header("ETag"), body: Data(response.body))
        } catch let error as OneShotHTTPClient.ClientError {
            await client.shutdown()
            throw ValidationError("admin API at \(baseURL): \(error)")
        } catch {
            await client.shutdown()
            throw AdminCommandError(message: "cannot reach the admin API at \(baseURL): \(error)")
        }
    }

    /// The answer's body when it is a success; otherwise the API's error message, as an error.
    func require(_ answer: Answer, _ statuses: Set<Int> = [200, 201, 204]) throws -> Answer {
        guard statuses.contains(answer.status) else {
            let error = (answer.json as? [String: Any])?["error"] as? [String: Any]
            let message = (error?["message"] as? String) ?? answer.text
            let details = (error?["details"] as? [String]) ?? []
            throw AdminCommandError(message: ([ "HTTP \(answer.status): \(message)"] + details.map { "  \($0)" }).joined(separator: "\n"))
        }
        return answer
    }
}

struct AdminCommandError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

