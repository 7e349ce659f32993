from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from apps.tenants.models import Company


@login_required
def home(request):
    companies = Company.objects.filter(members=request.user).select_related("partner")
    return render(request, "portal/home.html", {"companies": companies})


@login_required
def company(request, company_id):
    company = get_object_or_404(Company.objects.select_related("partner"), pk=company_id, members=request.user)
    return render(request, "portal/company.html", {"company": company, "partner": company.partner})
