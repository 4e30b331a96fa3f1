# Reference values for libs/stats tests. Run with Debian's /usr/bin/python3 (scipy 1.10.1,
# statsmodels 0.13.5, scikit-learn 1.2.1):  /usr/bin/python3 libs/stats/testdata/reference.py
# The numbers it prints are recorded in stats_test.go next to the assertions.
import numpy as np, scipy.stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.stattools import acf
from sklearn.metrics import mutual_info_score
a=[5.1,4.9,6.2,5.8,6.0,5.5,5.3,6.1,5.9,5.0,5.5,6.4]
b=[4.1,4.5,5.0,4.8,4.4,5.2,4.9,4.3,4.7,5.5]
c=[6.5,7.1,6.8,7.4,6.0,6.9,7.2]
np.set_printoptions(precision=17)
t=st.ttest_ind(a,b,equal_var=False); print("welch",repr(t.statistic),repr(t.pvalue))
m1,m2=np.mean(a),np.mean(b); v1,v2=np.var(a,ddof=1),np.var(b,ddof=1); n1,n2=len(a),len(b)
se=np.sqrt(v1/n1+v2/n2); df=se**4/((v1/n1)**2/(n1-1)+(v2/n2)**2/(n2-1)); tq=st.t.ppf(0.975,df)
print("welch df ci",repr(df),repr(m1-m2-tq*se),repr(m1-m2+tq*se))
sp=np.sqrt(((n1-1)*v1+(n2-1)*v2)/(n1+n2-2)); d=(m1-m2)/sp; sed=np.sqrt((n1+n2)/(n1*n2)+d*d/(2*(n1+n2))); J=1-3/(4*(n1+n2)-9)
print("d",repr(d),repr(d-st.norm.ppf(.975)*sed),repr(d+st.norm.ppf(.975)*sed),"g",repr(J*d),repr(J*(d-st.norm.ppf(.975)*sed)),repr(J*(d+st.norm.ppf(.975)*sed)))
u=st.mannwhitneyu(a,b,method="asymptotic"); print("mwu",repr(u.statistic),repr(u.pvalue))
u=st.mannwhitneyu(a,c,method="asymptotic"); print("mwu ac",repr(u.statistic),repr(u.pvalue))
tab=[[12,5,9],[7,15,4],[3,6,11]]
r=st.chi2_contingency(tab); print("chi",repr(r[0]),repr(r[1]),r[2], repr(st.contingency.association(tab,method="cramer")))
tab2=[[20,15],[10,25]]
r=st.chi2_contingency(tab2); print("chi2x2 yates",repr(r[0]),repr(r[1])); r=st.chi2_contingency(tab2,correction=False); print("chi2x2 noyates",repr(r[0]),repr(r[1]), repr(st.contingency.association(tab2,method="cramer")))
for tb in ([[8,2],[1,5]],[[3,7],[9,2]],[[20,15],[10,25]],[[0,5],[6,1]]):
  r=st.fisher_exact(tb); print("fisher",tb,repr(r[0]),repr(r[1]))
r=st.f_oneway(a,b,c); print("anova",repr(r.statistic),repr(r.pvalue))
allv=np.concatenate([a,b,c]); gm=allv.mean(); ssb=sum(len(g)*(np.mean(g)-gm)**2 for g in (a,b,c)); sst=((allv-gm)**2).sum(); print("eta2",repr(ssb/sst), "eta", repr(np.sqrt(ssb/sst)))
r=st.kruskal(a,b,c); print("kruskal",repr(r.statistic),repr(r.pvalue))
x=[1.2,2.3,2.9,4.1,5.0,5.8,7.2,8.1,8.8,10.3,11.0,12.4]
y=[2.0,2.9,3.1,5.2,4.8,6.9,7.0,9.4,8.7,11.8,10.9,14.0]
r=st.pearsonr(x,y); ci=r.confidence_interval(0.95); print("pearson",repr(r.statistic),repr(r.pvalue),repr(ci.low),repr(ci.high))
y2=[3.0,1.0,4.0,1.0,5.0,9.0,2.0,6.0,5.0,3.0,5.0,8.0]
r=st.pearsonr(x,y2); ci=r.confidence_interval(0.95); print("pearson2",repr(r.statistic),repr(r.pvalue),repr(ci.low),repr(ci.high))
r=st.spearmanr(x,y2); z=np.arctanh(r.correlation); se=1/np.sqrt(len(x)-3); print("spearman",repr(r.correlation),repr(r.pvalue),repr(np.tanh(z-st.norm.ppf(.975)*se)),repr(np.tanh(z+st.norm.ppf(.975)*se)))
s=[10,12,11,13,15,14,15,18,17,19,21,20,22,22,25]
n=len(s); S=sum(np.sign(s[j]-s[i]) for i in range(n) for j in range(i+1,n))
vals,cnts=np.unique(s,return_counts=True); V=(n*(n-1)*(2*n+5)-sum(t*(t-1)*(2*t+5) for t in cnts))/18
Z=(S-1)/np.sqrt(V) if S>0 else ((S+1)/np.sqrt(V) if S<0 else 0); p=2*st.norm.sf(abs(Z))
ts=st.theilslopes(s)
print("mk",S,repr(V),repr(Z),repr(p),repr(S/(n*(n-1)/2)),repr(ts.slope),repr(ts.low_slope),repr(ts.high_slope))
ser=[112,118,132,129,121,135,148,148,136,119,104,118,115,126,141,135,125,149,170,170,158,133,114,140]
print("acf",repr(list(acf(ser,nlags=13,fft=False))))
pv=[0.001,0.008,0.039,0.041,0.042,0.06,0.074,0.205,0.212,0.216,0.222,0.251,0.269,0.275,0.34,0.341,0.384,0.569,0.594,0.696,0.762,0.94,0.942,0.975,0.986]
print("bh",repr(list(multipletests(pv,method="fdr_bh")[1])))
xa=[0,0,1,1,2,2,2,0,1,2,0,1]; ya=[0,1,1,1,2,2,0,0,1,2,0,2]
print("mi",repr(mutual_info_score(xa,ya)))
print("skew",repr(st.skew(a+b)),repr(st.kurtosis(a+b)))

# Confidence intervals of effect sizes (added with noncentral.go).
from scipy.optimize import brentq
def nc_bounds(cdf, stat):
    def solve(p):
        if cdf(0.0) <= p: return 0.0
        hi = max(1.0, 2*stat)
        while cdf(hi) > p: hi *= 2
        return brentq(lambda l: cdf(l) - p, 0.0, hi, xtol=1e-14, rtol=1e-14, maxiter=500)
    return solve(0.975), solve(0.025)
for (x, k, lam) in ((14.720575578267884, 4, 3.0), (14.720575578267884, 4, 40.0), (5.0, 1, 0.5), (300.0, 6, 250.0)):
    print("ncx2cdf", x, k, lam, repr(st.ncx2.cdf(x, k, lam)))
for (f, d1, d2, lam) in ((3.5, 2, 26, 4.0), (45.0, 2, 26, 60.0), (1.2, 4, 200, 0.7)):
    print("ncfcdf", f, d1, d2, lam, repr(st.ncf.cdf(f, d1, d2, lam)))
tab=[[12,5,9],[7,15,4],[3,6,11]]; chi=st.chi2_contingency(tab)[0]; n=np.sum(tab)
lo,hi=nc_bounds(lambda l: st.ncx2.cdf(chi,4,l) if l>0 else st.chi2.cdf(chi,4), chi)
print("cramer ci",repr(np.sqrt(lo/(n*2))),repr(np.sqrt(hi/(n*2))))
tab2=[[20,15],[10,25]]; chi=st.chi2_contingency(tab2,correction=False)[0]; n=np.sum(tab2)
lo,hi=nc_bounds(lambda l: st.ncx2.cdf(chi,1,l) if l>0 else st.chi2.cdf(chi,1), chi)
print("cramer2x2 ci",repr(np.sqrt(lo/n)),repr(np.sqrt(hi/n)))
F=st.f_oneway(a,b,c).statistic; d1=2; d2=len(a)+len(b)+len(c)-3
lo,hi=nc_bounds(lambda l: st.ncf.cdf(F,d1,d2,l) if l>0 else st.f.cdf(F,d1,d2), F*d1)
print("eta2 ci",repr(lo/(lo+d2)),repr(hi/(hi+d2)))
for (x1, x2) in ((a, b), (a, c)):
    U=st.mannwhitneyu(x1,x2,method="asymptotic").statistic; n1,n2=len(x1),len(x2); r=2*U/(n1*n2)-1
    se=np.sqrt((n1+n2+1)/(3*n1*n2)); z=np.arctanh(r)
    print("rbc ci",repr(r),repr(np.tanh(z-st.norm.ppf(.975)*se)),repr(np.tanh(z+st.norm.ppf(.975)*se)))
# Quantiles (numpy's default linear interpolation, pandas' describe()) and the median.
print("quantiles", repr([float(np.quantile(a + c, q)) for q in (0.0, 0.1, 0.25, 0.5, 0.9, 1.0)]), repr(float(np.median(b))))
