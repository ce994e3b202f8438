import ArgumentParser
import Foundation
import GatewayConfiguration
import Policies

/// `--config gateway.yaml` and `--named-value NAME=VALUE` for `policy check` and `policy test`: the
/// named values, fragments, backends and skipUnsupported setting the gateway would load policies with.
struct PolicySettingsOptions: ParsableArguments {
    @Option(help: "Gateway configuration whose named values, fragments and backends the policies see.")
    var config: String?

    @Option(name: .customLong("named-value"), help: "A named value as NAME=VALUE (over the configuration's); repeatable.")
    var namedValues: [String] = []

    struct Resolved {
        let gateway: GatewayConfig?
        let namedValues: NamedValues
        let fragments: [PolicyLoader.FragmentText]
        let backends: [String: URL]
        let skipUnsupported: Bool
    }

    func resolve() throws -> Resolved {
        var gateway: GatewayConfig? = nil
        if let config {
            do { gateway = try GatewayConfigLoader.load(path: config) } catch { throw ValidationError("\(error)") }
        }
        let settings = gateway?.policies ?? PolicySettings()
        var values: [String: NamedValue] = [:]
        for (name, value) in settings.namedValues {
            values[name.lowercased()] = NamedValue(name: name, value: value, isSecret: settings.secretNamedValues.contains(name))
        }
        for spec in namedValues {
            let parts = spec.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.allSatisfy(NamedValue.isNameByte) else {
                throw ValidationError("--named-value takes NAME=VALUE, got '\(spec)'")
            }
            values[parts[0].lowercased()] = NamedValue(name: parts[0], value: parts[1])
        }
        let fragments = try settings.fragmentFiles.sorted { $0.key < $1.key }.map {
            PolicyLoader.FragmentText(id: $0.key, file: $0.value, text: try PolicyCommand.Effective.read($0.value))
        }
        return Resolved(
            gateway: gateway, namedValues: NamedValues(values.values.sorted { $0.name < $1.name }), fragments: fragments,
            backends: settings.backendURLs.compactMapValues { URL(string: $0) }, skipUnsupported: settings.skipUnsupported)
    }
}
