#!/usr/bin/env python3
"""Writes the shipped Questionnaires into fhir-profiles/. Run from the repository root after editing."""
import json, os

BASE = "http://engagement-functions.org/fhir"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
CALC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
LOINC = "http://loinc.org"


def es(text):
    return {"extension": [{"url": TRANSLATION, "extension": [
        {"url": "lang", "valueCode": "es"}, {"url": "content", "valueString": text}]}]}


def text(item, en, spanish):
    item["text"] = en
    item["_text"] = es(spanish)
    return item


FREQUENCY = [("LA6568-5", "Not at all", "Ningún día", 0),
             ("LA6569-3", "Several days", "Varios días", 1),
             ("LA6570-1", "More than half the days", "Más de la mitad de los días", 2),
             ("LA6571-9", "Nearly every day", "Casi todos los días", 3)]


def frequency_options():
    return [{"extension": [{"url": ORDINAL, "valueDecimal": score}],
             "valueCoding": {"system": LOINC, "code": code, "display": en, "_display": es(spanish)}}
            for code, en, spanish, score in FREQUENCY]


def band(low, high, code, display):
    return {"url": BASE + "/StructureDefinition/score-band", "extension": [
        {"url": "low", "valueDecimal": low}, {"url": "high", "valueDecimal": high},
        {"url": "code", "valueCoding": {"system": BASE + "/CodeSystem/severity-band", "code": code, "display": display}}]}


def red_flag(expression, priority, code, display, description):
    return {"url": BASE + "/StructureDefinition/red-flag", "extension": [
        {"url": "expression", "valueExpression": {"language": "text/fhirpath", "expression": expression}},
        {"url": "priority", "valueCode": priority},
        {"url": "code", "valueCoding": {"system": BASE + "/CodeSystem/red-flag", "code": code, "display": display}},
        {"url": "description", "valueString": description}]}


def frequency_instrument(qid, title, panel, prefix, items, total_code, total_display, bands, flags, intro):
    q = {
        "resourceType": "Questionnaire", "id": qid, "url": f"{BASE}/Questionnaire/{qid}", "version": "1.0.0",
        "name": title.replace("-", ""), "title": title, "status": "active", "language": "en",
        "subjectType": ["Patient"], "code": [{"system": LOINC, "code": panel[0], "display": panel[1]}],
        # %codes: the answer codes of the frequency items (the only coded answers). The total is
        # "answers above 0" + "answers above 1" + "answers above 2", written with exclude() so there is no
        # per-answer lambda (where/select) or literal arithmetic, which are the slow parts of Firely's engine.
        "extension": [
            {"url": VARIABLE, "valueExpression": {"name": "codes", "language": "text/fhirpath",
                                                   "expression": "%resource.item.answer.value.code"}},
            {"url": VARIABLE, "valueExpression": {"name": "above0", "language": "text/fhirpath",
                                                   "expression": "%codes.exclude('LA6568-5')"}},
            {"url": VARIABLE, "valueExpression": {"name": "above1", "language": "text/fhirpath",
                                                   "expression": "%above0.exclude('LA6569-3')"}},
            {"url": VARIABLE, "valueExpression": {"name": "above2", "language": "text/fhirpath",
                                                   "expression": "%above1.exclude('LA6570-1')"}}] + flags,
        "item": [text({"linkId": f"{prefix}-intro", "type": "display"}, intro[0], intro[1])],
    }
    for n, (code, en, spanish) in enumerate(items, start=1):
        q["item"].append(text({"linkId": f"{prefix}-{n}", "code": [{"system": LOINC, "code": code}], "type": "choice",
                               "required": True, "answerOption": frequency_options()}, en, spanish))
    q["item"].append(text({
        "extension": [{"url": CALC, "valueExpression": {"language": "text/fhirpath", "expression":
            "%above0.count() + %above1.count() + %above2.count()"}}] + [band(*b) for b in bands],
        "linkId": f"{prefix}-total", "code": [{"system": LOINC, "code": total_code, "display": total_display}],
        "type": "integer", "readOnly": True}, total_display, "Puntuación total"))
    return q


OVER_TWO_WEEKS = ("Over the last 2 weeks, how often have you been bothered by any of the following problems?",
                  "Durante las últimas 2 semanas, ¿con qué frecuencia le han molestado los siguientes problemas?")

phq9 = frequency_instrument(
    "phq-9", "PHQ-9", ("44249-1", "PHQ-9 quick depression assessment panel"), "phq9",
    [("44250-9", "Little interest or pleasure in doing things", "Poco interés o placer en hacer cosas"),
     ("44255-8", "Feeling down, depressed, or hopeless", "Se ha sentido decaído(a), deprimido(a) o sin esperanzas"),
     ("44259-0", "Trouble falling or staying asleep, or sleeping too much",
      "Dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado"),
     ("44254-1", "Feeling tired or having little energy", "Se ha sentido cansado(a) o con poca energía"),
     ("44251-7", "Poor appetite or overeating", "Sin apetito o ha comido en exceso"),
     ("44258-2", "Feeling bad about yourself - or that you are a failure or have let yourself or your family down",
      "Se ha sentido mal con usted mismo(a) - o que es un fracaso o que ha quedado mal con usted mismo(a) o con su familia"),
     ("44252-5", "Trouble concentrating on things, such as reading the newspaper or watching television",
      "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el periódico o ver la televisión"),
     ("44253-3", "Moving or speaking so slowly that other people could have noticed. Or the opposite - being so fidgety "
                 "or restless that you have been moving around a lot more than usual",
      "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? o lo contrario - muy inquieto(a) "
      "o agitado(a) que ha estado moviéndose mucho más de lo normal"),
     ("44260-8", "Thoughts that you would be better off dead, or of hurting yourself in some way",
      "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera")],
    "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score",
    [(0, 4, "minimal", "Minimal depression"), (5, 9, "mild", "Mild depression"), (10, 14, "moderate", "Moderate depression"),
     (15, 19, "moderately-severe", "Moderately severe depression"), (20, 27, "severe", "Severe depression")],
    [red_flag("%resource.item.where(linkId = 'phq9-9').answer.value.code.exclude('LA6568-5').exists()", "urgent",
              "self-harm-thoughts", "Thoughts of self-harm reported",
              "PHQ-9 item 9 answered above 'Not at all': assess suicide risk today."),
     red_flag("%totalScore >= 20", "urgent", "severe-depression", "Severe depression score",
              "PHQ-9 total 20 or more (severe): clinical review needed.")],
    OVER_TWO_WEEKS)

gad7 = frequency_instrument(
    "gad-7", "GAD-7", ("69737-5", "Generalized anxiety disorder 7 item (GAD-7)"), "gad7",
    [("69725-0", "Feeling nervous, anxious or on edge", "Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta"),
     ("68509-0", "Not being able to stop or control worrying", "No ha sido capaz de parar o controlar su preocupación"),
     ("69733-4", "Worrying too much about different things", "Se ha preocupado demasiado por motivos diferentes"),
     ("69734-2", "Trouble relaxing", "Ha tenido dificultad para relajarse"),
     ("69735-9", "Being so restless that it is hard to sit still", "Se ha sentido tan inquieto(a) que no ha podido quedarse quieto(a)"),
     ("69689-8", "Becoming easily annoyed or irritable", "Se ha molestado o irritado fácilmente"),
     ("69736-7", "Feeling afraid as if something awful might happen", "Ha tenido miedo de que algo terrible fuera a pasar")],
    "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score",
    [(0, 4, "minimal", "Minimal anxiety"), (5, 9, "mild", "Mild anxiety"), (10, 14, "moderate", "Moderate anxiety"),
     (15, 21, "severe", "Severe anxiety")],
    [red_flag("%totalScore >= 15", "routine", "severe-anxiety", "Severe anxiety score",
              "GAD-7 total 15 or more (severe): review at the next clinical contact.")],
    OVER_TWO_WEEKS)

FEELING = BASE + "/CodeSystem/checkin-feeling"
checkin = {
    "resourceType": "Questionnaire", "id": "post-discharge-checkin",
    "url": f"{BASE}/Questionnaire/post-discharge-checkin", "version": "1.0.0", "name": "PostDischargeCheckin",
    "title": "Post-discharge check-in", "status": "active", "language": "en", "subjectType": ["Patient"],
    "extension": [
        {"url": BASE + "/StructureDefinition/primary-item", "valueString": "pain"},
        red_flag("%resource.item.where(linkId = 'pain').answer.value >= 8", "urgent",
                 "severe-pain", "Severe pain after discharge", "Pain 8 or more out of 10 reported after discharge: call the patient today.")],
    "item": [
        text({"linkId": "feeling", "type": "choice", "answerOption": [
            {"valueCoding": {"system": FEELING, "code": "better", "display": "Better", "_display": es("Mejor")}},
            {"valueCoding": {"system": FEELING, "code": "same", "display": "About the same", "_display": es("Más o menos igual")}},
            {"valueCoding": {"system": FEELING, "code": "worse", "display": "Worse", "_display": es("Peor")}}]},
            "How are you feeling since you left the hospital?", "¿Cómo se siente desde que salió del hospital?"),
        text({"linkId": "new-symptoms", "type": "boolean"}, "Do you have any new symptoms?", "¿Tiene algún síntoma nuevo?"),
        text({"linkId": "new-symptoms-detail", "type": "text", "maxLength": 500,
              "enableWhen": [{"question": "new-symptoms", "operator": "=", "answerBoolean": True}]},
             "Please describe your new symptoms.", "Por favor, describa sus síntomas nuevos."),
        text({"linkId": "medication-taken", "type": "boolean"}, "Have you taken your medications as prescribed?",
             "¿Ha tomado sus medicamentos según las indicaciones?"),
        text({"extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 0},
            {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 10}],
            "linkId": "pain", "code": [{"system": LOINC, "code": "72514-3", "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}],
            "type": "integer", "required": True},
            "On a scale of 0 (no pain) to 10 (worst pain), how bad is your pain right now?",
            "En una escala del 0 (sin dolor) al 10 (el peor dolor), ¿qué tan fuerte es su dolor ahora?"),
    ],
}

for q in (phq9, gad7, checkin):
    with open(os.path.join("fhir-profiles", f"Questionnaire-{q['id']}.json"), "w", encoding="utf-8") as f:
        json.dump(q, f, ensure_ascii=False, indent=2)
        f.write("\n")
