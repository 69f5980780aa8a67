using Engagement.Outcomes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Engagement.Functions.Api;

/// <summary>A SMART patient app's (or the care team's) QuestionnaireResponse through the FHIR facade.</summary>
public sealed class FhirResponseFunctions(FhirResponseSubmissionHandler handler)
{
    [Function("FhirCreateQuestionnaireResponse")]
    public Task<IActionResult> Create(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/" + FhirResponseSubmissionHandler.Route)] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        handler.CreateAsync(request, client, request.HttpContext.RequestAborted).ToActionResult();
}
