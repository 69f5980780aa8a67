using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Engagement.Testing;

/// <summary>One JSON file of the <c>fhir-profiles/</c> package and what it parsed to.</summary>
public sealed record PackageFile(string FileName, string Json, Resource? Resource, string? ParseError);

/// <summary>Finds and reads the <c>fhir-profiles/</c> package.</summary>
public static class PackageFiles
{
    /// <summary>The package folder's name at the repository root.</summary>
    public const string FolderName = "fhir-profiles";

    private static readonly FhirJsonDeserializer Deserializer = new();

    /// <summary>Walks up from the test output directory to the repository's <c>fhir-profiles/</c>.</summary>
    public static string FindPackageDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, FolderName);
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"No {FolderName}/package.json above {AppContext.BaseDirectory}");
    }

    /// <summary>The resource file names (every <c>*.json</c> except <c>package.json</c>), sorted.</summary>
    public static IReadOnlyList<string> ResourceFileNames(string packageDirectory) =>
        Directory.EnumerateFiles(packageDirectory, "*.json", SearchOption.TopDirectoryOnly)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => !n.Equals("package.json", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Reads and parses one file of the package.</summary>
    public static PackageFile Read(string packageDirectory, string fileName)
    {
        var json = File.ReadAllText(Path.Combine(packageDirectory, fileName));
        return TryParse(json, out var resource, out var error)
            ? new PackageFile(fileName, json, resource, null)
            : new PackageFile(fileName, json, null, error);
    }

    /// <summary>Reads and parses every resource file of the package.</summary>
    public static IReadOnlyList<PackageFile> Load(string packageDirectory) =>
        ResourceFileNames(packageDirectory).Select(n => Read(packageDirectory, n)).ToList();

    /// <summary>Strictly parses FHIR R4 JSON: unknown elements and wrong types are parse errors.</summary>
    public static bool TryParse(string json, out Resource? resource, out string? error)
    {
        try
        {
            resource = Deserializer.DeserializeResource(json);
            error = null;
            return true;
        }
        catch (DeserializationFailedException e)
        {
            resource = null;
            error = e.Message;
            return false;
        }
        catch (System.Text.Json.JsonException e)
        {
            resource = null;
            error = e.Message;
            return false;
        }
    }
}
