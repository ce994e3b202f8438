import ConfigurationStore
import Foundation

/// `drawbridge config export`: the store's configuration as a YAML file (`gateway.yaml`, JSON
/// style) and the files it names (`files/`, keys owner-only) in a folder, which `check` and
/// `serve --config` take as they are.
public enum StoreExporter {
    /// Writes the folder; returns the path of `gateway.yaml`. Throws with every check finding when
    /// the stored configuration does not pass.
    public static func export(_ contents: StoreContents, to folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let materializer = StoreMaterializer(dataDirectory: folder)
        let result = materializer.materialize(contents)
        guard result.config != nil else {
            throw AdminError(422, "ConfigurationInvalid", "the stored configuration does not pass the checks", details: result.errors)
        }
        let prefix = materializer.filesDirectory + "/"
        let document = "# Exported by `drawbridge config export` (JSON is YAML); file paths are relative to this file.\n"
            + result.document.replacingOccurrences(of: prefix, with: "files/") + "\n"
        let path = (folder as NSString).appendingPathComponent("gateway.yaml")
        guard FileManager.default.createFile(atPath: path, contents: Data(document.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw AdminError(500, "ExportFailed", "cannot write \(path)")
        }
        return path
    }
}
