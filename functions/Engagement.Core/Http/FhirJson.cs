using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Engagement.Http;

/// <summary>FHIR R4 JSON through Firely's System.Text.Json converters.</summary>
public static class FhirJson
{
    public const string MediaType = "application/fhir+json";

    /// <summary>Serializer options for writing FHIR resources.</summary>
    public static readonly JsonSerializerOptions Options = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    public static string Serialize(Resource resource) => JsonSerializer.Serialize(resource, Options);

    public static byte[] SerializeToUtf8Bytes(Resource resource) => JsonSerializer.SerializeToUtf8Bytes(resource, Options);
}
