import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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
        guard let url = URL(string: baseURL + path) else { throw ValidationError("invalid admin URL \(baseURL + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return Answer(status: http?.statusCode ?? 0, etag: http?.value(forHTTPHeaderField: "ETag"), body: data)
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

